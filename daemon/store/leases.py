"""Sharing work among several `tocsin run` instances on one PostgreSQL database, with no coordinator of their own.

- Due feeds and pending deliveries are claimed by lease: a row lock taken with `FOR UPDATE SKIP LOCKED` (two
  instances claiming at once never wait for each other nor take the same row) and a lease expiry written in the
  row, so the work of an instance that died is claimed again once its lease has run out.
- The singleton jobs (tick, reminders, digests, pruning) run under one leader lease. Each new holder raises the
  fencing epoch, and `fence` checks it inside the job's own transaction, locking the leader row: a paused old
  leader that wakes after another took over has its writes refused instead of sending a reminder twice.
- `serialize` takes a transaction-level advisory lock per key, so two instances placing reports of one event into
  stories or updating one situation run one after the other.
Every lease time is the database's `now()`, never the instance's clock. All functions take a connection in
autocommit mode and run (or join) one transaction each."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tocsin.errors import StoreError

if TYPE_CHECKING:
    import psycopg

    Connection = psycopg.Connection[tuple[object, ...]]

_NOW = "extract(epoch FROM now())"


class FencedOut(StoreError):
    """The leader lease has passed to another instance (or expired): the singleton job's writes must not commit."""


def claim_due_feeds(connection: Connection, holder: str, *, limit: int, lease_seconds: float) -> list[str]:
    """Lease up to `limit` feeds that are due (or never polled) and not leased by a live holder, oldest due
    first; returns their names. The holder polls them and hands each back with `finish_feed`."""
    with connection.transaction():
        rows = connection.execute(
            f"UPDATE feed_state SET lease_holder = %(holder)s, lease_until = {_NOW} + %(lease)s"
            " WHERE name IN (SELECT name FROM feed_state"
            f"  WHERE gone = 0 AND (next_poll_at IS NULL OR next_poll_at <= {_NOW})"
            f"  AND (lease_until IS NULL OR lease_until < {_NOW})"
            "  ORDER BY next_poll_at NULLS FIRST, name LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
            " RETURNING name",
            {"holder": holder, "lease": lease_seconds, "limit": limit},
        ).fetchall()
    return sorted(str(row[0]) for row in rows)


def finish_feed(connection: Connection, holder: str, name: str, *, next_poll_in: float) -> bool:
    """Give a polled feed's lease back and set its next poll; False when the lease was no longer this holder's
    (it expired and another instance claimed the feed), so the caller knows its poll may have been repeated."""
    with connection.transaction():
        cursor = connection.execute(
            f"UPDATE feed_state SET lease_holder = NULL, lease_until = NULL, next_poll_at = {_NOW} + %s"
            " WHERE name = %s AND lease_holder = %s", (next_poll_in, name, holder),
        )
    return cursor.rowcount == 1


def claim_deliveries(connection: Connection, holder: str, *, limit: int, lease_seconds: float) -> list[int]:
    """Lease up to `limit` pending deliveries that are due and not leased by a live holder; returns their ids."""
    with connection.transaction():
        rows = connection.execute(
            f"UPDATE deliveries SET lease_holder = %(holder)s, lease_until = {_NOW} + %(lease)s"
            " WHERE id IN (SELECT id FROM deliveries"
            f"  WHERE state = 'pending' AND next_attempt_at <= {_NOW}"
            f"  AND (lease_until IS NULL OR lease_until < {_NOW})"
            "  ORDER BY next_attempt_at, id LIMIT %(limit)s FOR UPDATE SKIP LOCKED)"
            " RETURNING id",
            {"holder": holder, "lease": lease_seconds, "limit": limit},
        ).fetchall()
    return sorted(int(row[0]) for row in rows)  # type: ignore[call-overload]


def finish_delivery(connection: Connection, holder: str, delivery_id: int) -> bool:
    """Mark a leased delivery delivered; False when its lease had passed to another instance."""
    with connection.transaction():
        cursor = connection.execute(
            f"UPDATE deliveries SET state = 'delivered', attempts = attempts + 1, finished_at = {_NOW},"
            " lease_holder = NULL, lease_until = NULL WHERE id = %s AND lease_holder = %s AND state = 'pending'",
            (delivery_id, holder),
        )
    return cursor.rowcount == 1


def acquire_leadership(connection: Connection, holder: str, *, lease_seconds: float,
                       role: str = "singleton") -> int | None:
    """Take or renew the leader lease of `role`; returns the fencing epoch held, or None while another
    instance's lease runs. A renewal keeps the epoch; a takeover (or a first leader) raises it."""
    with connection.transaction():
        connection.execute(
            "INSERT INTO leader (role, holder, epoch, lease_until) VALUES (%s, %s, 0, 0) ON CONFLICT DO NOTHING",
            (role, holder),
        )
        row = connection.execute(
            "UPDATE leader SET"
            " epoch = CASE WHEN holder = %(holder)s AND lease_until >= " + _NOW + " THEN epoch ELSE epoch + 1 END,"
            f" holder = %(holder)s, lease_until = {_NOW} + %(lease)s"
            f" WHERE role = %(role)s AND (holder = %(holder)s OR lease_until < {_NOW}) RETURNING epoch",
            {"holder": holder, "lease": lease_seconds, "role": role},
        ).fetchone()
    return int(row[0]) if row else None  # type: ignore[call-overload]


def fence(connection: Connection, holder: str, epoch: int, role: str = "singleton") -> None:
    """Inside the singleton job's transaction: raise FencedOut unless `holder` still holds the lease at `epoch`.
    The leader row stays locked (FOR SHARE) until the job commits, so no takeover slips in between."""
    if not connection.info.transaction_status:
        raise StoreError("fence() must run inside the transaction of the writes it guards")
    row = connection.execute(
        f"SELECT 1 FROM leader WHERE role = %s AND holder = %s AND epoch = %s AND lease_until >= {_NOW} FOR SHARE",
        (role, holder, epoch),
    ).fetchone()
    if row is None:
        raise FencedOut(f"{holder} no longer leads {role} at epoch {epoch}; its writes were rolled back")


def serialize(connection: Connection, key: str) -> None:
    """Inside a transaction: wait for any other transaction working on `key` (a story key, a situation), and hold
    the key until this one ends. Transaction-level, so it survives transaction pooling."""
    connection.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))
