"""The one Alert model for every kind of alert, and its JSON form (the webhook body, `docs/alert.schema.json`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tocsin.alert_kinds import AlertKind
from tocsin.items import Item, content_hash
from tocsin.matching.model import Deadline, Evidence, Quantity
from tocsin.severity import Severity

ALERT_JSON_VERSION = 1

def iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class AlertItem:
    """An item behind an alert, as receivers see it."""

    title: str
    link: str
    feed: str
    published: datetime | None

    @classmethod
    def from_item(cls, item: Item) -> AlertItem:
        return cls(title=item.title, link=item.link, feed=item.feed, published=item.published)

    def to_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "link": self.link,
            "feed": self.feed,
            "published": iso(self.published) if self.published else None,
        }


@dataclass(frozen=True, slots=True)
class Alert:
    id: str
    """Stable: the same decision always yields the same id, so receivers can dedupe on it."""
    kind: AlertKind
    severity: Severity
    title: str
    summary: str
    created: datetime
    rule: str | None = None
    tags: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    items: tuple[AlertItem, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    quantities: tuple[Quantity, ...] = ()
    deadline: Deadline | None = None
    story_id: str | None = None
    """Alerts about one story share it (webhook field, email threading)."""
    situation: str | None = None
    """Alerts about one situation (an escalation key such as place:Idlib) share it."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Kind-specific details (escalation signals, digest members, ...), documented in the schema."""

    @staticmethod
    def make_id(*parts: str) -> str:
        return "alrt_" + content_hash(*parts)[:24]

    @property
    def thread_id(self) -> str | None:
        return self.story_id or self.situation

    @property
    def members(self) -> tuple[Alert, ...]:
        """The alerts a digest collects (empty for every other kind)."""
        return tuple(Alert.from_json(member) for member in self.extra.get("alerts", ()))

    @classmethod
    def test(cls, receiver: str, now: datetime) -> Alert:
        """What `tocsin send-test` sends: a harmless alert that exercises the whole delivery path."""
        return cls(
            id=cls.make_id("test", receiver, iso(now)),
            kind="test",
            severity=Severity.INFO,
            title=f"Test alert for receiver {receiver}",
            summary="This is a test sent by `tocsin send-test`. If you can read it, delivery works.",
            created=now,
            tags=("test",),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "version": ALERT_JSON_VERSION,
            "id": self.id,
            "kind": self.kind,
            "severity": self.severity.value,
            "title": self.title,
            "summary": self.summary,
            "created": iso(self.created),
            "rule": self.rule,
            "tags": list(self.tags),
            "places": list(self.places),
            "actors": list(self.actors),
            "items": [item.to_json() for item in self.items],
            "evidence": [e.to_json() for e in self.evidence],
            "quantities": [q.to_json() for q in self.quantities],
            "deadline": self.deadline.to_json() if self.deadline else None,
            "story_id": self.story_id,
            "situation": self.situation,
            "extra": self.extra,
        }

    def to_json_bytes(self) -> bytes:
        return json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Alert:
        def when(text: str | None) -> datetime | None:
            return datetime.fromisoformat(text) if text else None

        deadline = data.get("deadline")
        created = when(data["created"])
        assert created is not None
        return cls(
            id=data["id"],
            kind=data["kind"],
            severity=Severity(data["severity"]),
            title=data["title"],
            summary=data["summary"],
            created=created,
            rule=data.get("rule"),
            tags=tuple(data.get("tags", ())),
            places=tuple(data.get("places", ())),
            actors=tuple(data.get("actors", ())),
            items=tuple(
                AlertItem(title=i["title"], link=i["link"], feed=i["feed"], published=when(i.get("published")))
                for i in data.get("items", ())
            ),
            evidence=tuple(Evidence(**e) for e in data.get("evidence", ())),
            quantities=tuple(Quantity(**q) for q in data.get("quantities", ())),
            deadline=Deadline(at=when(deadline["at"]), text=deadline["text"]) if deadline else None,  # type: ignore[arg-type]
            story_id=data.get("story_id"),
            situation=data.get("situation"),
            extra=dict(data.get("extra", {})),
        )
