"""Seen items: an item is new unless its id (within its feed) or its canonical link (any feed) was seen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tocsin.items import Item
from tocsin.store.db import Database, chunks

_LOOKUP_CHUNK = 500
"""Keys per `IN (...)` lookup, well under SQLite's limit on bound parameters."""
REFRESH_AFTER = timedelta(hours=1)
"""A key seen again is re-stamped only when its stamp is older than this. Re-stamping all 50 items of a changed
feed rewrote about 100 random B-tree pages (and their seen_at index entries) per ingest: most of the commit's
cost and of the WAL's growth. The retention period, days in practice, dwarfs the hour."""


class SeenItems:
    def __init__(self, db: Database) -> None:
        self.db = db

    def filter_new(self, items: Sequence[Item], now: datetime) -> list[Item]:
        """Record every item as seen and return those that were not seen before (in feed order, each once).

        One lookup and one batched upsert per call, not a statement per key: this runs for every changed feed, on
        the database thread inside its ingest."""
        candidates: list[tuple[Item, tuple[bytes, ...]]] = []
        batch_keys: set[bytes] = set()
        for item in items:
            link_key = item.link_key
            keys = (bytes.fromhex(item.id_key),) + ((bytes.fromhex(link_key),) if link_key is not None else ())
            if batch_keys.intersection(keys):
                continue
            batch_keys.update(keys)
            candidates.append((item, keys))
        connection = self.db.connection
        known: dict[bytes, int] = {}
        for chunk in chunks(list(batch_keys), _LOOKUP_CHUNK):
            rows = connection.execute(
                f"SELECT key, seen_at FROM seen_items WHERE key IN ({','.join('?' * len(chunk))})", chunk
            )
            known.update((bytes(row[0]), int(row[1])) for row in rows)
        # Seen again refreshes seen_at (hourly at most): an item still in its feed stays remembered however long
        # it stays there.
        stamp = int(now.timestamp())
        stale = stamp - int(REFRESH_AFTER.total_seconds())
        connection.executemany(
            "UPDATE seen_items SET seen_at = ? WHERE key = ?",
            ((stamp, key) for key, seen_at in known.items() if seen_at <= stale),
        )
        # A key is new only if this insert wrote it: another instance on a shared store may have committed it
        # since the lookup (the insert waits for that instance's transaction, then does nothing).
        unknown = [key for key in batch_keys if key not in known]
        inserted: set[bytes] = set()
        for chunk in chunks(unknown, _LOOKUP_CHUNK):
            written = connection.execute(
                f"INSERT INTO seen_items (key, seen_at) VALUES {','.join(['(?, ?)'] * len(chunk))}"
                " ON CONFLICT (key) DO NOTHING RETURNING key",
                [value for key in chunk for value in (key, stamp)],
            ).fetchall()
            inserted.update(bytes(row[0]) for row in written)
        seen_before = known.keys() | (set(unknown) - inserted)
        # New only if no key was seen before: a known link under a new guid is the same article re-published.
        return [item for item, keys in candidates if seen_before.isdisjoint(keys)]

    def prune(self, older_than: datetime, limit: int | None = None) -> int:
        """Forget items last seen before `older_than`, at most `limit` of them (the oldest first); returns how
        many. The daemon prunes in chunks, one database-thread job each: a day's expired items in one DELETE held
        the connection for hundreds of milliseconds."""
        cutoff = int(older_than.timestamp())
        if limit is None:
            cursor = self.db.connection.execute("DELETE FROM seen_items WHERE seen_at < ?", (cutoff,))
        else:
            cursor = self.db.connection.execute(
                "DELETE FROM seen_items WHERE key IN "
                "(SELECT key FROM seen_items WHERE seen_at < ? ORDER BY seen_at LIMIT ?)",
                (cutoff, limit),
            )
        return cursor.rowcount

    def count(self) -> int:
        return int(self.db.connection.execute("SELECT count(*) FROM seen_items").fetchone()[0])

