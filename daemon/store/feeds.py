"""Feed health and conditional-GET validators (table feed_state), one row per configured feed name."""

from __future__ import annotations

import array
import threading
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from tocsin.alerts import iso
from tocsin.config.feeds import FeedConfig
from tocsin.store.db import Database, chunks, moment, stamp, stored_text
from tocsin.store.seen import REFRESH_AFTER
from tocsin.store.sql import database_errors
from tocsin.urls import redact_url

FLUSH_ROWS_PER_COMMIT = 250
"""Touches written per transaction by `flush_in_chunks`: one database-thread job each, so polls' ingests take
their turns in between."""
_NAMES_PER_QUERY = 500


@dataclass(frozen=True, slots=True)
class FeedState:
    name: str
    url: str
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    last_status: int | None = None
    last_success_at: datetime | None = None
    last_error_at: datetime | None = None
    last_error: str | None = None
    warning: str | None = None
    consecutive_failures: int = 0
    next_poll_at: datetime | None = None
    gone: bool = False
    first_fetch_done: bool = False
    items_total: int = 0
    entry_digests: bytes = b""
    """The digests of the entries of the last body the pipeline took in, packed (`pack_digests`)."""
    entries_checked_at: datetime | None = None
    """When every one of those entries last went through the seen store (which re-stamps what it has seen)."""

    def known_entries(self, now: datetime) -> frozenset[int]:
        """The entries a changed body can pass over: none once their seen records may need re-stamping."""
        if self.entries_checked_at is None or now - self.entries_checked_at >= REFRESH_AFTER:
            return frozenset()
        unpacked = array.array("Q")
        unpacked.frombytes(self.entry_digests)
        return frozenset(unpacked)

    @property
    def health(self) -> str:
        """gone, failing, ok or new (never fetched)."""
        return _health(gone=self.gone, failing=bool(self.consecutive_failures),
                       succeeded=self.last_success_at is not None)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "url": self.url, "health": self.health, "last_status": self.last_status,
            "last_success_at": _iso(self.last_success_at), "last_error_at": _iso(self.last_error_at),
            "last_error": self.last_error, "warning": self.warning,
            "consecutive_failures": self.consecutive_failures, "next_poll_at": _iso(self.next_poll_at),
            "gone": self.gone, "items_total": self.items_total, "etag": self.etag,
            "last_modified": self.last_modified,
        }


def pack_digests(digests: frozenset[int]) -> bytes:
    """8 bytes per digest: about 0.4 KB for a 50-entry feed, against 4 KB as a set of ints."""
    return array.array("Q", digests).tobytes()


def _health(*, gone: bool, failing: bool, succeeded: bool) -> str:
    if gone:
        return "gone"
    if failing:
        return "failing"
    return "ok" if succeeded else "new"


def _iso(when: datetime | None) -> str | None:
    return iso(when) if when else None


@dataclass(frozen=True, slots=True)
class _Touch:
    """A poll that found nothing new (304, unchanged body): written in batches, see FeedStates.touch."""

    status: int
    now: datetime
    next_poll_at: datetime
    etag: str | None
    last_modified: str | None

    def apply(self, state: FeedState) -> FeedState:
        return replace(
            state, last_status=self.status, last_success_at=self.now, consecutive_failures=0,
            next_poll_at=self.next_poll_at, etag=self.etag, last_modified=self.last_modified,
        )


@dataclass(frozen=True, slots=True)
class _Failure:
    """A failed poll that could not be written because the store itself failed (a full disk): held, shown and
    counted like a written one, and written by a later flush unless a success was recorded after it."""

    error: str
    status: int | None
    now: datetime
    next_poll_at: datetime
    failures: int
    """Consecutive failures, this one included."""

    def superseded(self, last_success_at: datetime | None) -> bool:
        return last_success_at is not None and last_success_at >= self.now

    def apply(self, state: FeedState) -> FeedState:
        if self.superseded(state.last_success_at):
            return state
        return replace(
            state, last_status=self.status, last_error=stored_text(self.error), last_error_at=self.now,
            next_poll_at=self.next_poll_at, consecutive_failures=self.failures,
        )


class FeedStates:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._pending: dict[str, _Touch | _Failure] = {}
        """Outcomes not written yet: touches (written in batches), failures the store could not write."""
        self._pending_lock = threading.Lock()
        """Polls touch on the event loop while a flush or an ingest on the database thread takes touches away."""

    def sync(self, feeds: Sequence[FeedConfig]) -> None:
        """Make the table match the configuration: add new feeds, forget removed ones, and start over (validators,
        gone flag, first-fetch silence) for a feed whose url changed."""
        self.flush()
        with self.db.transaction() as connection:
            names = [feed.name for feed in feeds]
            # (PostgreSQL has no empty `IN ()`.)
            connection.execute(
                f"DELETE FROM feed_state WHERE name NOT IN ({','.join('?' * len(names))})" if names
                else "DELETE FROM feed_state", names
            )
            for feed in feeds:
                # The url is kept redacted (no password or token at rest), so a change of credentials alone is
                # not a new feed. A row from before redaction is rewritten in place rather than started over.
                url = redact_url(feed.url)
                connection.execute(
                    "UPDATE feed_state SET url = ? WHERE name = ? AND url = ?", (url, feed.name, feed.url)
                )
                connection.execute(
                    "INSERT INTO feed_state (name, url) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET "
                    "url = excluded.url, etag = NULL, last_modified = NULL, body_hash = NULL, gone = 0, "
                    "first_fetch_done = 0, consecutive_failures = 0, next_poll_at = NULL, last_error = NULL, "
                    "warning = NULL, entry_digests = ?, entries_checked_at = NULL "
                    "WHERE feed_state.url != excluded.url",
                    (feed.name, url, b""),
                )

    def get(self, name: str) -> FeedState | None:
        row = self.db.reader.execute("SELECT * FROM feed_state WHERE name = ?", (name,)).fetchone()
        return self._current(_from_row(row)) if row else None

    def all(self) -> list[FeedState]:
        rows = self.db.reader.execute("SELECT * FROM feed_state ORDER BY name").fetchall()
        return [self._current(_from_row(row)) for row in rows]

    def _current(self, state: FeedState) -> FeedState:
        pending = self._pending.get(state.name)
        return pending.apply(state) if pending else state

    def _forget(self, name: str, *, failures_too: bool = True) -> None:
        """A written outcome supersedes the feed's pending one. A held failure may stay past a written success:
        the success's time supersedes it (`_Failure.superseded`), and one that is not written stays in force."""
        with self._pending_lock:
            if failures_too or isinstance(self._pending.get(name), _Touch):
                self._pending.pop(name, None)

    def touch(
        self, name: str, *, status: int, now: datetime, next_poll_at: datetime, etag: str | None,
        last_modified: str | None,
    ) -> None:
        """A poll that found nothing new. Most polls are these, so they are kept in memory and written together
        by `flush` (one commit instead of one fsync per feed); a crash loses only timestamps."""
        with self._pending_lock:
            self._pending[name] = _Touch(status, now, next_poll_at, etag, last_modified)

    def flush(self) -> None:
        """Write the pending touches and held failures in one transaction (start-up, reload, shutdown: nothing
        else is waiting)."""
        self._write(self._unwritten())

    async def flush_in_chunks(self, rows_per_commit: int = FLUSH_ROWS_PER_COMMIT) -> None:
        """Write the pending touches a chunk per transaction on the database thread: at the end of a 5,000-feed
        cycle one transaction held the event loop for about a second, and a chunk's commit may meet a WAL
        checkpoint."""
        pending = self._unwritten()
        for chunk in chunks(pending, rows_per_commit):
            await self.db.run(self._write, chunk)

    def _unwritten(self) -> list[tuple[str, _Touch | _Failure]]:
        with self._pending_lock:
            return list(self._pending.items())

    def _write(self, outcomes: Sequence[tuple[str, _Touch | _Failure]]) -> None:
        # Polls go on while a chunked flush runs: an outcome that was replaced or superseded by a written one
        # (record_parsed, record_failure, mark_gone) since the flush began must not overwrite it.
        with self._pending_lock:
            current = [(name, outcome) for name, outcome in outcomes if self._pending.get(name) is outcome]
        if not current:
            return
        touches = [(name, outcome) for name, outcome in current if isinstance(outcome, _Touch)]
        failures = [(name, outcome) for name, outcome in current if isinstance(outcome, _Failure)]
        with self.db.transaction() as connection:
            if touches:
                connection.executemany(
                    "UPDATE feed_state SET last_status = ?, last_success_at = ?, consecutive_failures = 0, "
                    "next_poll_at = ?, etag = ?, last_modified = ? WHERE name = ?",
                    [
                        (touch.status, stamp(touch.now), stamp(touch.next_poll_at), touch.etag,
                         touch.last_modified, name)
                        for name, touch in touches
                    ],
                )
            if failures:
                connection.executemany(
                    "UPDATE feed_state SET last_status = ?, last_error = ?, last_error_at = ?, next_poll_at = ?, "
                    "consecutive_failures = ? WHERE name = ? AND (last_success_at IS NULL OR last_success_at < ?)",
                    [
                        (failure.status, stored_text(failure.error), stamp(failure.now), stamp(failure.next_poll_at),
                         failure.failures, name, stamp(failure.now))
                        for name, failure in failures
                    ],
                )
        with self._pending_lock:
            for name, outcome in current:
                if self._pending.get(name) is outcome:
                    del self._pending[name]

    def unhealthy(self) -> list[FeedState]:
        """Feeds whose last poll failed, or that are gone: one query, no flush (pending touches are applied)."""
        reader = self.db.reader
        rows = reader.execute("SELECT * FROM feed_state WHERE consecutive_failures > 0 OR gone = 1").fetchall()
        held = [name for name, outcome in self._unwritten() if isinstance(outcome, _Failure)]
        for names in chunks(held, _NAMES_PER_QUERY):
            rows += reader.execute(
                f"SELECT * FROM feed_state WHERE name IN ({','.join('?' * len(names))}) "
                "AND consecutive_failures = 0 AND gone = 0", names,
            ).fetchall()
        states = sorted((self._current(_from_row(row)) for row in rows), key=lambda state: state.name)
        return [state for state in states if state.health in ("failing", "gone")]

    def count_unhealthy(self) -> int:
        return len(self.unhealthy())

    def health_counts(self, names: Collection[str]) -> Counter[str]:
        """How many of these feeds are ok, failing, gone or new. For the status line, refreshed while polls run:
        reading every row as a FeedState (`all`) held the event loop for 120 ms at 5,000 feeds."""
        rows = self.db.reader.execute("SELECT name, gone, consecutive_failures > 0, last_success_at FROM feed_state")
        counts: Counter[str] = Counter()
        for name, gone, failing, last_success_at in rows:
            if name in names:
                pending = self._pending.get(name)
                touched = isinstance(pending, _Touch)
                held = isinstance(pending, _Failure) and not pending.superseded(moment(last_success_at))
                counts[_health(gone=bool(gone), failing=(bool(failing) and not touched) or held,
                               succeeded=last_success_at is not None or touched)] += 1
        return counts

    def record_parsed(
        self, name: str, *, status: int, now: datetime, next_poll_at: datetime, etag: str | None,
        last_modified: str | None, body_hash: str, new_items: int, warning: str | None,
        entry_digests: frozenset[int] = frozenset(), entries_checked_at: datetime | None = None,
    ) -> None:
        """A poll that fetched and parsed a new body (written at once, in the caller's transaction, so the entries
        are known only if their items were taken in)."""
        self._forget(name, failures_too=False)
        self.db.connection.execute(
            "UPDATE feed_state SET last_status = ?, last_success_at = ?, consecutive_failures = 0, "
            "next_poll_at = ?, etag = ?, last_modified = ?, items_total = items_total + ?, body_hash = ?, "
            "warning = ?, first_fetch_done = 1, entry_digests = ?, entries_checked_at = ? WHERE name = ?",
            (
                status, stamp(now), stamp(next_poll_at), etag, last_modified, new_items, body_hash,
                stored_text(warning) if warning else None, pack_digests(entry_digests),
                stamp(entries_checked_at) if entries_checked_at else None, name,
            ),
        )

    def record_failure(
        self, name: str, *, error: str, status: int | None, now: datetime, next_poll_at: datetime
    ) -> int:
        """Count a failure; returns the number of consecutive failures so far. When the store cannot write it (a
        full disk), the failure is held and counted as if written, the next flush writes it, and the store's error
        is raised."""
        held = self._pending.get(name)
        earlier = held.failures if isinstance(held, _Failure) else 0
        self._forget(name)
        try:
            with self.db.transaction() as connection:
                connection.execute(
                    "UPDATE feed_state SET last_status = ?, last_error = ?, last_error_at = ?, next_poll_at = ?, "
                    "consecutive_failures = CASE WHEN consecutive_failures > ? THEN consecutive_failures ELSE ? END "
                    "+ 1 WHERE name = ?",
                    (status, stored_text(error), stamp(now), stamp(next_poll_at), earlier, earlier, name),
                )
                row = connection.execute(
                    "SELECT consecutive_failures FROM feed_state WHERE name = ?", (name,)
                ).fetchone()
        except database_errors():
            state = self.get(name)
            failures = max(state.consecutive_failures if state else 0, earlier) + 1
            with self._pending_lock:
                self._pending[name] = _Failure(error, status, now, next_poll_at, failures)
            raise
        return int(row[0]) if row else 0

    def mark_gone(self, name: str, *, error: str, now: datetime) -> None:
        self._forget(name)
        self.db.connection.execute(
            "UPDATE feed_state SET gone = 1, last_status = 410, last_error = ?, last_error_at = ?, "
            "next_poll_at = NULL, consecutive_failures = consecutive_failures + 1 WHERE name = ?",
            (stored_text(error), stamp(now), name),
        )


def _from_row(row: Any) -> FeedState:
    return FeedState(
        name=row["name"], url=row["url"], etag=row["etag"], last_modified=row["last_modified"],
        body_hash=row["body_hash"], last_status=row["last_status"],
        last_success_at=moment(row["last_success_at"]), last_error_at=moment(row["last_error_at"]),
        last_error=row["last_error"], warning=row["warning"], consecutive_failures=row["consecutive_failures"],
        next_poll_at=moment(row["next_poll_at"]), gone=bool(row["gone"]),
        first_fetch_done=bool(row["first_fetch_done"]), items_total=row["items_total"],
        entry_digests=row["entry_digests"], entries_checked_at=moment(row["entries_checked_at"]),
    )
