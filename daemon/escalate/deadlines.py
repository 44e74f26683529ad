"""Tracked deadlines: each resolved ultimatum or deadline is tracked once and reminded at configured offsets.

The same deadline reported by several items (the same time within `SAME_DEADLINE`, overlapping places, or the same
rule when neither names a place) is one tracked deadline that links all of them. Reminders are state in the
database, so they survive restarts; when several reminders of one deadline fell due while the daemon was down,
only the latest is sent ("expired", if the deadline has passed), never a burst.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tocsin.alerts import Alert, AlertItem
from tocsin.config.escalation import EscalationConfig
from tocsin.escalate.fingerprint import normalize
from tocsin.items import Item, content_hash
from tocsin.matching.model import Deadline, Match
from tocsin.severity import Severity
from tocsin.store import Database
from tocsin.store.sql import Row
from tocsin.units import format_duration

SAME_DEADLINE = timedelta(hours=3)
"""Resolved times this close are one deadline: "by Friday" and "within 72 hours" said on different days."""
LINKED_ITEMS = 10


def _time(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


def _in_words(remaining: timedelta) -> str:
    hours = remaining.total_seconds() / 3600
    if hours >= 1:
        return f"{round(hours)} h"
    return f"{max(1, round(hours * 60))} min"


@dataclass(frozen=True, slots=True)
class ExpiredDeadline:
    """A tracked deadline that has passed, with what its situations need to know of it."""

    at: datetime
    story_id: str
    rule: str
    places: tuple[str, ...]
    actors: tuple[str, ...]
    tags: tuple[str, ...]
    item: AlertItem
    """Its first report, retitled "Deadline expired: ..."."""


class Deadlines:
    def __init__(self, db: Database, config: EscalationConfig) -> None:
        self.db = db
        self.config = config

    def track(self, item: Item, match: Match, story_id: str, now: datetime) -> None:
        deadline = match.deadline
        if deadline is None or deadline.at <= now:
            return
        deadline_id = self._same(deadline, match) or self._start(item, match, deadline, story_id, now)
        self.db.connection.execute(
            "INSERT INTO deadline_items (deadline_id, title, link, feed, published) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (deadline_id, item.title, item.link, item.feed,
             int(item.published.timestamp()) if item.published else None),
        )

    def due(self, now: datetime) -> list[Alert]:
        """Reminders due by `now`: at most one per deadline, the latest one due."""
        offsets = self.config.deadline_reminders
        if not offsets:
            return []
        stamp = int(now.timestamp())
        rows = self.db.connection.execute(
            "SELECT * FROM deadlines WHERE done = 0 AND at - ? <= ? ORDER BY at, id",
            (int(offsets[0].total_seconds()), stamp),
        ).fetchall()
        alerts = []
        for row in rows:
            times = [row["at"] - int(offset.total_seconds()) for offset in offsets]
            pending = [when for when in times if row["last_reminder_at"] < when <= stamp]
            if not pending:
                continue
            reminder_at = pending[-1]
            self.db.connection.execute(
                "UPDATE deadlines SET last_reminder_at = ?, done = ? WHERE id = ?",
                (reminder_at, int(reminder_at == times[-1]), row["id"]),
            )
            alerts.append(self._reminder(row, reminder_at, now))
        return alerts

    def expired(self, since: datetime, now: datetime) -> list[ExpiredDeadline]:
        """The tracked deadlines that passed between `since` and `now`, reminded of or not."""
        found = []
        for row in self.db.connection.execute(
            "SELECT * FROM deadlines WHERE at > ? AND at <= ? ORDER BY at, id",
            (int(since.timestamp()), int(now.timestamp())),
        ).fetchall():
            first = self.db.connection.execute(
                "SELECT link, feed FROM deadline_items WHERE deadline_id = ? ORDER BY published, link LIMIT 1",
                (row["id"],),
            ).fetchone()
            link, feed = (first["link"], first["feed"]) if first else ("", "")
            found.append(ExpiredDeadline(
                at=_time(row["at"]), story_id=row["story_id"], rule=row["rule"],
                places=tuple(json.loads(row["places"])), actors=tuple(json.loads(row["actors"])),
                tags=tuple(json.loads(row["tags"])),
                item=AlertItem(f"{row['noun']} expired: {row['title']}", link, feed, None),
            ))
        return found

    def next_due(self) -> datetime | None:
        """When the next reminder falls due, for drivers that advance a simulated clock."""
        offsets = self.config.deadline_reminders
        upcoming = [
            when
            for row in self.db.connection.execute("SELECT at, last_reminder_at FROM deadlines WHERE done = 0")
            for when in (row["at"] - int(offset.total_seconds()) for offset in offsets)
            if when > row["last_reminder_at"]
        ]
        return _time(min(upcoming)) if upcoming else None

    def prune(self, before: datetime) -> int:
        stamp = int(before.timestamp())
        self.db.connection.execute(
            "DELETE FROM deadline_items WHERE deadline_id IN (SELECT id FROM deadlines WHERE done = 1 AND at < ?)",
            (stamp,),
        )
        return self.db.connection.execute("DELETE FROM deadlines WHERE done = 1 AND at < ?", (stamp,)).rowcount

    def _same(self, deadline: Deadline, match: Match) -> str | None:
        places = {normalize(place) for place in match.places}
        for row in self.db.connection.execute(
            "SELECT id, rule, places FROM deadlines WHERE done = 0 AND at BETWEEN ? AND ? ORDER BY at",
            (int((deadline.at - SAME_DEADLINE).timestamp()), int((deadline.at + SAME_DEADLINE).timestamp())),
        ):
            tracked = {normalize(place) for place in json.loads(row["places"])}
            if places & tracked or (not places and not tracked and row["rule"] == match.rule):
                return str(row["id"])
        return None

    def _start(self, item: Item, match: Match, deadline: Deadline, story_id: str, now: datetime) -> str:
        deadline_id = "ddl_" + content_hash("deadline", story_id, deadline.at.isoformat())[:20]
        noun = "Ultimatum" if "ultimatum" in normalize(item.text) else "Deadline"
        self.db.connection.execute(
            "INSERT INTO deadlines (id, at, text, title, noun, rule, severity, places, actors, tags, "
            "story_id, last_reminder_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (deadline_id, int(deadline.at.timestamp()), deadline.text, item.title, noun, match.rule,
             match.severity.value, json.dumps(match.places), json.dumps(match.actors), json.dumps(match.tags),
             story_id, int(now.timestamp())),
        )
        return deadline_id

    def _reminder(self, row: Row, reminder_at: int, now: datetime) -> Alert:
        at = _time(row["at"])
        remaining = at - now
        expired = remaining <= timedelta(0)
        if expired:
            title = f"{row['noun']} expired: {row['title']}"
        else:
            title = f"{row['noun']} expires in {_in_words(remaining)}: {row['title']}"
        items = tuple(
            AlertItem(item["title"], item["link"], item["feed"],
                      _time(item["published"]) if item["published"] is not None else None)
            for item in self.db.connection.execute(
                "SELECT * FROM deadline_items WHERE deadline_id = ? ORDER BY published, link LIMIT ?",
                (row["id"], LINKED_ITEMS),
            )
        )
        sources = ", ".join(dict.fromkeys(item.feed for item in items))
        return Alert(
            id=Alert.make_id("deadline_reminder", row["id"], str(reminder_at)),
            kind="deadline_reminder",
            severity=Severity(row["severity"]),
            title=title,
            summary=f'"{row["text"]}" resolves to {at.isoformat().replace("+00:00", "Z")}; reported by {sources}.',
            created=now,
            rule=row["rule"],
            tags=tuple(json.loads(row["tags"])),
            places=tuple(json.loads(row["places"])),
            actors=tuple(json.loads(row["actors"])),
            items=items,
            deadline=Deadline(at=at, text=row["text"]),
            story_id=row["story_id"],
            extra={"deadline_id": row["id"], "expired": expired,
                   "reminder": format_duration(at - _time(reminder_at)) + " before"},
        )
