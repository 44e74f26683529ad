"""Silences: for a while, alerts that match every matcher (rule=, place=, tag=, ...) are recorded, not sent."""

from __future__ import annotations

import difflib
import fnmatch
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tocsin.alerts import Alert
from tocsin.escalate.fingerprint import normalize
from tocsin.items import content_hash
from tocsin.store import Database
from tocsin.store.sql import Row

MATCHER_KEYS = ("rule", "place", "actor", "tag", "kind", "severity", "story", "situation", "feed")
MATCHER_HINT = (
    f"write KEY=VALUE with KEY one of {', '.join(MATCHER_KEYS)}; VALUE may use * and ?; rule=shootdown also "
    "matches shootdown-*"
)


def _alert_values(alert: Alert, key: str) -> tuple[str, ...]:
    values: dict[str, tuple[str | None, ...]] = {
        "rule": (alert.rule,),
        "place": alert.places,
        "actor": alert.actors,
        "tag": alert.tags,
        "kind": (alert.kind,),
        "severity": (alert.severity.value,),
        "story": (alert.story_id,),
        "situation": (alert.situation,),
        "feed": tuple(item.feed for item in alert.items),
    }
    return tuple(value for value in values[key] if value)


@dataclass(frozen=True, slots=True)
class Matcher:
    key: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Matcher:
        key, sep, value = text.partition("=")
        key = key.strip().lower()
        if not sep or not value.strip():
            raise ValueError(f'"{text}" is not a matcher ({MATCHER_HINT})')
        if key not in MATCHER_KEYS:
            raise ValueError(f'"{text}": unknown matcher key "{key}" ({MATCHER_HINT})')
        return cls(key, value.strip())

    def matches(self, alert: Alert) -> bool:
        return any(self.matches_value(value) for value in _alert_values(alert, self.key))

    def matches_value(self, value: str) -> bool:
        """Whether one value of the matcher's key (a rule id, a place name ...) matches."""
        patterns = [normalize(self.value)]
        if self.key == "rule" and not any(char in self.value for char in "*?["):
            # Rule ids are families ("shootdown-aircraft", "shootdown-drone"): rule=shootdown means all of them.
            patterns.append(patterns[0] + "-*")
        return any(fnmatch.fnmatchcase(normalize(value), pattern) for pattern in patterns)

    def __str__(self) -> str:
        return f"{self.key}={self.value}"


def unknown_values(matchers: tuple[Matcher, ...], known: Mapping[str, Collection[str]]) -> list[str]:
    """A warning for each matcher that no known value of its key matches (`rule=stirke`: a silence that would
    never hold anything back), with the nearest known value. `known` holds the values of the keys that have a
    closed vocabulary (rules, tags, places, ...); a key it does not name is not checked."""
    warnings = []
    for matcher in matchers:
        values = known.get(matcher.key)
        if values is None or any(matcher.matches_value(value) for value in values):
            continue
        candidates = {normalize(value): value for value in values}
        if matcher.key == "rule":  # rule=shootdown names the shootdown-* family
            candidates.update((normalize(value.split("-")[0]), value.split("-")[0]) for value in values)
        close = difflib.get_close_matches(normalize(matcher.value), candidates, n=1, cutoff=0.6)
        hint = f'; did you mean "{matcher.key}={candidates[close[0]]}"?' if close else ""
        warnings.append(f'matcher "{matcher}" names no known {matcher.key}{hint} (added all the same)')
    return warnings


@dataclass(frozen=True, slots=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_at: datetime

    def matches(self, alert: Alert) -> bool:
        return all(matcher.matches(alert) for matcher in self.matchers)

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id, "matchers": [str(m) for m in self.matchers], "starts_at": _iso(self.starts_at),
            "ends_at": _iso(self.ends_at), "comment": self.comment, "created_at": _iso(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class Suppressed:
    alert: Alert
    reason: str
    """"silenced" or "throttled"."""
    silence_id: str | None
    at: datetime


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _time(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


class Silences:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(
        self, matchers: tuple[Matcher, ...], starts_at: datetime, duration: timedelta, comment: str, now: datetime
    ) -> Silence:
        if not matchers:
            raise ValueError(f"a silence needs at least one matcher ({MATCHER_HINT})")
        if duration <= timedelta(0):
            raise ValueError("a silence must last longer than 0s")
        text = [str(m) for m in matchers]
        silence_id = "sil_" + content_hash(*text, _iso(starts_at), _iso(now), comment)[:12]
        silence = Silence(silence_id, matchers, starts_at, starts_at + duration, comment, now)
        with self.db.transaction() as connection:
            connection.execute(
                "INSERT INTO silences (id, matchers, starts_at, ends_at, comment, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, "
                "starts_at = excluded.starts_at, ends_at = excluded.ends_at, comment = excluded.comment, "
                "created_at = excluded.created_at",
                (silence_id, json.dumps(text), int(starts_at.timestamp()), int(silence.ends_at.timestamp()),
                 comment, int(now.timestamp())),
            )
        return silence

    def expire(self, silence_id: str, now: datetime) -> bool:
        """End a silence now; False when no such silence is still running or pending."""
        with self.db.transaction() as connection:
            cursor = connection.execute(
                "UPDATE silences SET ends_at = ? WHERE id = ? AND ends_at > ?",
                (int(now.timestamp()), silence_id, int(now.timestamp())),
            )
        return cursor.rowcount == 1

    def current(self, now: datetime, *, include_expired: bool = False) -> list[Silence]:
        """Silences running or pending (and, with include_expired, finished ones too), by start time."""
        query = "SELECT * FROM silences" + ("" if include_expired else " WHERE ends_at > ?") + " ORDER BY starts_at"
        params = () if include_expired else (int(now.timestamp()),)
        return [self._from_row(row) for row in self.db.connection.execute(query, params)]

    def active(self, now: datetime) -> list[Silence]:
        stamp = int(now.timestamp())
        return [
            self._from_row(row)
            for row in self.db.connection.execute(
                "SELECT * FROM silences WHERE starts_at <= ? AND ends_at > ? ORDER BY created_at", (stamp, stamp)
            )
        ]

    def record(self, alert: Alert, reason: str, silence_id: str | None, now: datetime) -> None:
        self.db.connection.execute(
            "INSERT INTO suppressed_alerts (alert_id, reason, silence_id, at, alert) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (alert.id, reason, silence_id, int(now.timestamp()), alert.to_json_bytes().decode()),
        )

    def suppressed(self, silence_id: str | None = None, limit: int = 100) -> list[Suppressed]:
        """Alerts not sent, newest first: all of them, or those one silence held back."""
        where = "" if silence_id is None else " WHERE silence_id = ?"
        params: tuple[object, ...] = () if silence_id is None else (silence_id,)
        rows = self.db.connection.execute(
            f"SELECT * FROM suppressed_alerts{where} ORDER BY at DESC, rowid DESC LIMIT ?", (*params, limit)
        )
        return [
            Suppressed(Alert.from_json(json.loads(row["alert"])), row["reason"], row["silence_id"], _time(row["at"]))
            for row in rows
        ]

    def prune(self, before: datetime) -> None:
        """Forget alerts held back before `before`, and silences that ended before it."""
        stamp = int(before.timestamp())
        self.db.connection.execute("DELETE FROM suppressed_alerts WHERE at < ?", (stamp,))
        self.db.connection.execute("DELETE FROM silences WHERE ends_at < ?", (stamp,))

    def suppressed_count(self, silence_id: str) -> int:
        return int(self.db.connection.execute(
            "SELECT count(*) FROM suppressed_alerts WHERE silence_id = ?", (silence_id,)
        ).fetchone()[0])

    @staticmethod
    def _from_row(row: Row) -> Silence:
        return Silence(
            id=row["id"],
            matchers=tuple(Matcher.parse(text) for text in json.loads(row["matchers"])),
            starts_at=_time(row["starts_at"]),
            ends_at=_time(row["ends_at"]),
            comment=row["comment"],
            created_at=_time(row["created_at"]),
        )
