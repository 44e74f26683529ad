"""The outbox tables: alerts by id, groups waiting to go out, and deliveries until delivered or dead.

Every method runs inside the caller's transaction (or autocommits one statement); none opens its own, so a state
change and the alerts it decided are committed together.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tocsin.alerts import Alert, iso
from tocsin.store.db import Database, chunks, moment, stamp, stored_text
from tocsin.store.sql import Connection, Row, json_elements, json_text

DeliveryState = Literal["pending", "delivered", "dead"]
DIGEST_GROUP = "@digest"
"""The group key of a digest receiver's collection (ordinary keys are label=value lists, never start with @)."""

@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    receiver: str
    alert_ids: tuple[str, ...]
    state: DeliveryState
    created_at: datetime
    next_attempt_at: datetime
    attempts: int
    last_error: str | None
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: Row) -> Delivery:
        created_at = moment(row["created_at"])
        next_attempt_at = moment(row["next_attempt_at"])
        assert created_at is not None and next_attempt_at is not None
        return cls(
            id=row["id"], receiver=row["receiver"], alert_ids=tuple(json.loads(row["alert_ids"])),
            state=row["state"], created_at=created_at, next_attempt_at=next_attempt_at, attempts=row["attempts"],
            last_error=row["last_error"], finished_at=moment(row["finished_at"]),
        )

    def to_json(self) -> dict[str, object]:
        def when(value: datetime | None) -> str | None:
            return iso(value) if value else None

        return {
            "id": self.id, "receiver": self.receiver, "alert_ids": list(self.alert_ids), "state": self.state,
            "created": when(self.created_at), "next_attempt": when(self.next_attempt_at) if self.state == "pending"
            else None, "attempts": self.attempts, "last_error": self.last_error, "finished": when(self.finished_at),
        }


class OutboxStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    @property
    def _sql(self) -> Connection:
        return self.db.connection

    # Alerts

    def save_alert(self, alert: Alert) -> None:
        """Record an alert; deciding the same alert again (same id) keeps the first record."""
        self._sql.execute(
            "INSERT INTO alerts (id, kind, severity, created_at, body) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (alert.id, alert.kind, alert.severity.value, stamp(alert.created), alert.to_json_bytes().decode()),
        )

    def alerts(self, ids: Sequence[str]) -> list[Alert]:
        """The alerts with these ids, in the order given (ids no longer stored are skipped)."""
        found: dict[str, Alert] = {}
        for chunk in chunks(ids, 500):
            marks = ",".join("?" * len(chunk))
            # Committed with their delivery: the reader serves them while the database thread works.
            for row in self.db.reader.execute(f"SELECT id, body FROM alerts WHERE id IN ({marks})", chunk):
                found[row["id"]] = Alert.from_json(json.loads(row["body"]))
        return [found[alert_id] for alert_id in ids if alert_id in found]

    def superseded(self, alert: Alert) -> bool:
        """Whether a later alert replaces this one: about the same situation, or the same story and rule."""
        params: tuple[str | None, ...]
        dialect = self.db.dialect
        if alert.situation is not None:
            where, params = f"{json_text(dialect, 'body', 'situation')} = ?", (alert.situation,)
        elif alert.story_id is not None:
            rule = json_text(dialect, "body", "rule")
            where = f"{json_text(dialect, 'body', 'story_id')} = ? AND ({rule} = ? OR ({rule} IS NULL AND ? IS NULL))"
            params = (alert.story_id, alert.rule, alert.rule)
        else:
            return False
        row = self.db.reader.execute(
            f"SELECT 1 FROM alerts WHERE created_at > ? AND {where} LIMIT 1", (stamp(alert.created), *params),
        ).fetchone()
        return row is not None

    def recent_alerts(self, limit: int) -> list[Alert]:
        rows = self._sql.execute("SELECT body FROM alerts ORDER BY created_at DESC, id LIMIT ?", (limit,))
        return [Alert.from_json(json.loads(row["body"])) for row in rows]

    # Groups

    def last_notified(self, receiver: str, alert_id: str) -> tuple[bool, datetime | None]:
        """(whether the alert is known to the receiver's groups, when it last went out or None while waiting)."""
        row = self._sql.execute(
            "SELECT notified_at FROM group_members WHERE receiver = ? AND alert_id = ?", (receiver, alert_id)
        ).fetchone()
        return (row is not None, moment(row["notified_at"]) if row else None)

    def add_member(self, receiver: str, group_key: str, alert_id: str, now: datetime) -> None:
        self._sql.execute(
            "INSERT INTO group_members (receiver, alert_id, group_key, queued_at, notified_at)"
            " VALUES (?, ?, ?, ?, NULL)"
            " ON CONFLICT (receiver, alert_id) DO UPDATE SET group_key = excluded.group_key,"
            " queued_at = excluded.queued_at, notified_at = NULL",
            (receiver, alert_id, group_key, stamp(now)),
        )

    def group_times(self, receiver: str, group_key: str) -> tuple[datetime | None, datetime | None]:
        """(flush_at, last_flush_at) of a group; both None for a group never seen."""
        row = self._sql.execute(
            "SELECT flush_at, last_flush_at FROM alert_groups WHERE receiver = ? AND group_key = ?",
            (receiver, group_key),
        ).fetchone()
        return (moment(row["flush_at"]), moment(row["last_flush_at"])) if row else (None, None)

    def schedule_group(self, receiver: str, group_key: str, flush_at: datetime) -> None:
        self._sql.execute(
            "INSERT INTO alert_groups (receiver, group_key, flush_at) VALUES (?, ?, ?)"
            " ON CONFLICT (receiver, group_key) DO UPDATE SET flush_at = excluded.flush_at",
            (receiver, group_key, stamp(flush_at)),
        )

    def due_groups(self, now: datetime, *, ignore_wait: bool = False) -> list[tuple[str, str]]:
        """(receiver, group key) of groups due to go out; `ignore_wait` takes every waiting group but digests."""
        if ignore_wait:
            rows = self._sql.execute(
                "SELECT receiver, group_key FROM alert_groups WHERE flush_at IS NOT NULL"
                " AND (flush_at <= ? OR group_key != ?) ORDER BY flush_at", (stamp(now), DIGEST_GROUP),
            )
        else:
            rows = self._sql.execute(
                "SELECT receiver, group_key FROM alert_groups WHERE flush_at <= ? ORDER BY flush_at", (stamp(now),)
            )
        return [(row["receiver"], row["group_key"]) for row in rows]

    def take_waiting(self, receiver: str, group_key: str, now: datetime) -> list[str]:
        """The ids waiting in a group, oldest first, now marked as sent; the group is idle until the next alert.
        On a shared store the group's row is locked first, so an instance flushing it at the same time waits and
        then finds nothing waiting (no second delivery)."""
        if self.db.sharing is not None:
            self._sql.execute(
                "SELECT 1 FROM alert_groups WHERE receiver = ? AND group_key = ? FOR UPDATE", (receiver, group_key)
            )
        ids = [row["alert_id"] for row in self._sql.execute(
            "SELECT alert_id FROM group_members WHERE receiver = ? AND group_key = ? AND notified_at IS NULL"
            " ORDER BY queued_at, alert_id", (receiver, group_key),
        )]
        self._sql.execute(
            "UPDATE group_members SET notified_at = ? WHERE receiver = ? AND group_key = ? AND notified_at IS NULL",
            (stamp(now), receiver, group_key),
        )
        self._sql.execute(
            "UPDATE alert_groups SET flush_at = NULL, last_flush_at = ? WHERE receiver = ? AND group_key = ?",
            (stamp(now), receiver, group_key),
        )
        return ids

    def waiting_count(self) -> int:
        return int(self._sql.execute("SELECT count(*) FROM group_members WHERE notified_at IS NULL").fetchone()[0])

    # Deliveries

    def add_delivery(self, receiver: str, alert_ids: Sequence[str], now: datetime,
                     first_attempt_at: datetime | None = None) -> int:
        cursor = self._sql.execute(
            "INSERT INTO deliveries (receiver, alert_ids, state, created_at, next_attempt_at)"
            " VALUES (?, ?, 'pending', ?, ?) RETURNING id",
            (receiver, json.dumps(list(alert_ids)), stamp(now), stamp(first_attempt_at or now)),
        )
        return int(cursor.fetchone()[0])

    def discard(self, delivery_id: int, alert_id: str) -> None:
        """Remove a delivery and its alert as if never queued (a failed `send-test`: not a dead letter to count)."""
        self._sql.execute("DELETE FROM deliveries WHERE id = ?", (delivery_id,))
        self._sql.execute("DELETE FROM alerts WHERE id = ?", (alert_id,))

    def get(self, delivery_id: int) -> Delivery | None:
        row = self._sql.execute("SELECT * FROM deliveries WHERE id = ?", (delivery_id,)).fetchone()
        return Delivery.from_row(row) if row else None

    def due_receivers(self, now: datetime) -> list[str]:
        """Receivers with a delivery due now. A loose index scan (one index probe per receiver), so a backlog
        of thousands for a receiver that is down costs no more than one delivery."""
        rows = self._sql.execute(
            "WITH RECURSIVE r(receiver) AS ("
            " SELECT min(receiver) FROM deliveries INDEXED BY deliveries_due_by_receiver WHERE state = 'pending'"
            " UNION ALL SELECT (SELECT min(receiver) FROM deliveries INDEXED BY deliveries_due_by_receiver"
            " WHERE state = 'pending' AND receiver > r.receiver)"
            " FROM r WHERE r.receiver IS NOT NULL)"
            " SELECT receiver FROM r WHERE receiver IS NOT NULL AND EXISTS (SELECT 1 FROM deliveries AS d"
            " WHERE d.state = 'pending' AND d.receiver = r.receiver AND d.next_attempt_at <= ?)", (stamp(now),),
        )
        return [row[0] for row in rows]

    def due(self, now: datetime, receiver: str, limit: int, skip: Iterable[int] = ()) -> list[Delivery]:
        """A receiver's deliveries due now, oldest first, leaving out `skip` (those already being sent). On a
        shared store they are claimed for this instance (a lease; those another live instance holds are left
        out), and due means due on the database's clock."""
        sharing = self.db.sharing
        if sharing is not None:
            claimed = self._sql.execute(
                "UPDATE deliveries SET lease_holder = ?, lease_until = extract(epoch FROM now()) + ?"
                " WHERE id IN (SELECT id FROM deliveries WHERE state = 'pending' AND receiver = ?"
                " AND next_attempt_at <= extract(epoch FROM now())"
                " AND (lease_until IS NULL OR lease_until < extract(epoch FROM now()))"
                " ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED) RETURNING *",
                (sharing.instance, sharing.lease_seconds, receiver, limit),
            ).fetchall()
            return sorted((Delivery.from_row(row) for row in claimed), key=lambda d: (d.next_attempt_at, d.id))
        skipped = set(skip)
        rows = self._sql.execute(
            "SELECT * FROM deliveries WHERE state = 'pending' AND next_attempt_at <= ? AND receiver = ?"
            " ORDER BY next_attempt_at, id LIMIT ?", (stamp(now), receiver, limit + len(skipped)),
        )
        chosen = [row for row in rows if row["id"] not in skipped][:limit]
        return [Delivery.from_row(row) for row in chosen]

    def next_wake(self) -> datetime | None:
        """The earliest time a group or a delivery falls due (two index lookups)."""
        delivery = self._sql.execute(
            "SELECT min(next_attempt_at) FROM deliveries INDEXED BY deliveries_due WHERE state = 'pending'"
        ).fetchone()[0]
        group = self._sql.execute(
            "SELECT min(flush_at) FROM alert_groups INDEXED BY alert_groups_due WHERE flush_at IS NOT NULL"
        ).fetchone()[0]
        return moment(min((t for t in (delivery, group) if t is not None), default=None))

    def mark_delivered(self, delivery_id: int, now: datetime) -> None:
        self._sql.execute(
            "UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, finished_at = ?, last_error = NULL,"
            " lease_holder = NULL, lease_until = NULL WHERE id = ? AND state = 'pending'", (stamp(now), delivery_id),
        )

    def mark_retry(self, delivery_id: int, next_attempt_at: datetime, error: str) -> None:
        self._sql.execute(
            "UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = ?, last_error = ?,"
            " lease_holder = NULL, lease_until = NULL WHERE id = ? AND state = 'pending'",
            (stamp(next_attempt_at), stored_text(error), delivery_id),
        )

    def mark_dead(self, delivery_id: int, now: datetime, error: str, *, attempted: bool = True) -> None:
        self._sql.execute(
            "UPDATE deliveries SET state = 'dead', attempts = attempts + ?, finished_at = ?, last_error = ?,"
            " lease_holder = NULL, lease_until = NULL WHERE id = ? AND state = 'pending'",
            (int(attempted), stamp(now), stored_text(error), delivery_id),
        )

    def listing(self, state: DeliveryState | None, limit: int) -> list[Delivery]:
        """Deliveries in a state (all states when None), newest first."""
        if state is None:
            rows = self._sql.execute("SELECT * FROM deliveries ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self._sql.execute(
                "SELECT * FROM deliveries WHERE state = ? ORDER BY id DESC LIMIT ?", (state, limit)
            )
        return [Delivery.from_row(row) for row in rows]

    def deliveries_of(self, alert_id: str) -> list[Delivery]:
        rows = self._sql.execute(
            f"SELECT d.* FROM deliveries AS d, {json_elements(self.db.dialect, 'd.alert_ids', 'a')}"
            " WHERE a.value = ? ORDER BY d.id",
            (alert_id,),
        )
        return [Delivery.from_row(row) for row in rows]

    def requeue(self, delivery_ids: Iterable[int], now: datetime) -> int:
        """Make deliveries pending and due now again (dead or delivered ones are sent once more);
        their age restarts, so max_age counts from the requeue."""
        count = 0
        for delivery_id in delivery_ids:
            count += self._sql.execute(
                "UPDATE deliveries SET state = 'pending', next_attempt_at = ?, created_at = ?, finished_at = NULL"
                " WHERE id = ?", (stamp(now), stamp(now), delivery_id),
            ).rowcount
        return count

    def dead_ids(self) -> list[int]:
        return [row[0] for row in self._sql.execute("SELECT id FROM deliveries WHERE state = 'dead' ORDER BY id")]

    def count(self, state: DeliveryState) -> int:
        """Uses the indexes: cheap for pending and dead however many deliveries were made."""
        return int(self.db.reader.execute("SELECT count(*) FROM deliveries WHERE state = ?", (state,)).fetchone()[0])

    def counts(self) -> dict[DeliveryState, int]:
        return {state: self.count(state) for state in ("pending", "delivered", "dead")}

    def prune(self, older_than: datetime) -> int:
        """Forget finished deliveries, alerts and sent group members older than this; pending ones stay."""
        cutoff = stamp(older_than)
        dropped = self._sql.execute(
            "DELETE FROM deliveries WHERE state != 'pending' AND finished_at < ?", (cutoff,)
        ).rowcount
        self._sql.execute("DELETE FROM group_members WHERE notified_at IS NOT NULL AND notified_at < ?", (cutoff,))
        # Uncorrelated NOT IN: SQLite builds each set once, instead of scanning the outbox per old alert.
        self._sql.execute(
            "DELETE FROM alerts WHERE created_at < ?"
            " AND id NOT IN (SELECT alert_id FROM group_members WHERE notified_at IS NULL)"
            f" AND id NOT IN (SELECT a.value FROM deliveries AS d, {json_elements(self.db.dialect, 'd.alert_ids', 'a')}"
            " WHERE d.state = 'pending')", (cutoff,),
        )
        self._sql.execute(
            "DELETE FROM alert_groups WHERE flush_at IS NULL AND (last_flush_at IS NULL OR last_flush_at < ?)",
            (cutoff,),
        )
        return dropped
