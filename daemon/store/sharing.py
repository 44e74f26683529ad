"""What an instance on a shared (PostgreSQL) store does differently: claim its feeds, lead the singleton jobs.

`Database.sharing` is None for SQLite (one instance per state directory, the state lock); for PostgreSQL it is a
`Sharing` with this instance's identity and lease time, over the lease functions of store/leases.py. The delivery
claims need nothing from the caller: the outbox's `due` claims what it returns on a shared store."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tocsin.store import leases
from tocsin.store.sql import database_errors

if TYPE_CHECKING:
    from tocsin.store.postgres import PostgresDatabase

LEADER_ROLE = "singleton"
"""The leader lease's role: tick (reminders, situation decay, digests' schedules), pruning."""


def instance_name() -> str:
    """Host, process and a random part: unique among instances, readable in /healthz and the leases."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class Sharing:
    db: PostgresDatabase
    instance: str
    lease_seconds: float
    epoch: int | None = None
    """The fencing epoch of the leader lease while this instance holds it, else None."""

    def _raw(self) -> Any:
        return self.db.psycopg

    def claim_due_feeds(self, limit: int) -> list[str]:
        """Lease up to `limit` feeds due on the database's clock and leased by no live instance."""
        if limit <= 0:
            return []
        return leases.claim_due_feeds(self._raw(), self.instance, limit=limit, lease_seconds=self.lease_seconds)

    def finish_feed(self, name: str, next_poll_in: float) -> bool:
        """Hand a polled feed back, due again in `next_poll_in` seconds of the database's clock."""
        return leases.finish_feed(self._raw(), self.instance, name, next_poll_in=next_poll_in)

    def heartbeat(self) -> None:
        """This instance is alive (the instances table, on the database's clock)."""
        with self._raw().transaction():
            self._raw().execute(
                "INSERT INTO instances (name, started_at, seen_at) VALUES (%s, extract(epoch FROM now()),"
                " extract(epoch FROM now())) ON CONFLICT (name) DO UPDATE SET seen_at = excluded.seen_at",
                (self.instance,),
            )
            # Instances gone for an hour leave the list.
            self._raw().execute("DELETE FROM instances WHERE seen_at < extract(epoch FROM now()) - 3600")

    def lead(self) -> int | None:
        """Take or renew the leader lease; the epoch held (kept in `epoch`), or None while another leads."""
        self.epoch = leases.acquire_leadership(self._raw(), self.instance, lease_seconds=self.lease_seconds,
                                               role=LEADER_ROLE)
        return self.epoch

    def fence(self, epoch: int) -> None:
        """Inside the singleton job's transaction: raise FencedOut unless this instance still leads at `epoch`."""
        leases.fence(self._raw(), self.instance, epoch, LEADER_ROLE)

    def clock(self) -> DatabaseClock:
        """The clock of the stages that run on the database thread (ingest, escalation, the tick)."""
        return DatabaseClock(self.db)

    def overview(self) -> dict[str, object]:
        """For /healthz and /metrics (read through the reader, from the event loop): this instance, the instances
        seen within a lease time, the leases this one holds, and the leader."""
        try:
            return self._overview()
        except database_errors() as exc:
            return {"name": self.instance, "instances_alive": 0, "feed_leases": 0, "delivery_leases": 0,
                    "leader": None, "leader_epoch": None, "leading": False, "store_error": str(exc).strip()}

    def _overview(self) -> dict[str, object]:
        reader = self.db.reader
        now = "extract(epoch FROM now())"
        alive = reader.execute(f"SELECT count(*) FROM instances WHERE seen_at >= {now} - ?",
                               (self.lease_seconds,)).fetchone()
        held = reader.execute(
            f"SELECT (SELECT count(*) FROM feed_state WHERE lease_holder = ? AND lease_until >= {now}),"
            " (SELECT count(*) FROM deliveries WHERE lease_holder = ? AND state = 'pending'"
            f" AND lease_until >= {now})", (self.instance, self.instance),
        ).fetchone()
        leader = reader.execute(f"SELECT holder, epoch FROM leader WHERE role = ? AND lease_until >= {now}",
                                (LEADER_ROLE,)).fetchone()
        return {
            "name": self.instance, "instances_alive": int(alive[0]),
            "feed_leases": int(held[0]), "delivery_leases": int(held[1]),
            "leader": leader[0] if leader else None, "leader_epoch": int(leader[1]) if leader else None,
            "leading": bool(leader and leader[0] == self.instance),
        }


class DatabaseClock:
    """"Now" as the shared database tells it: the story and situation windows, the seen items' times and the
    reminders' due times agree between instances whatever each machine's clock says. `clock_timestamp()` rather
    than `now()`: inside a transaction that waited for the escalation lock, `now()` is when it began waiting.
    Only for code on the database thread (it uses the writing connection)."""

    def __init__(self, db: PostgresDatabase) -> None:
        self.db = db

    def now(self) -> datetime:
        seconds = self.db.connection.execute("SELECT extract(epoch FROM clock_timestamp())").fetchone()[0]
        return datetime.fromtimestamp(float(seconds), UTC)
