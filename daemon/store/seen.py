"""Seen items: an item is new unless its id (within its feed) or its canonical link (any feed) was seen."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from daemon.items import Item
from daemon.store.db import Database


class SeenItems:
    def __init__(self, db: Database) -> None:
        self.db = db

    def filter_new(self, items: Sequence[Item], now: datetime) -> list[Item]:
        """Record every item as seen and return those that were not seen before (in feed order, each once)."""
        stamp = int(now.timestamp())
        connection = self.db.connection
        new_items = []
        batch_keys: set[bytes] = set()
        for item in items:
            keys = [bytes.fromhex(item.id_key)]
            if item.link_key is not None:
                keys.append(bytes.fromhex(item.link_key))
            if any(key in batch_keys for key in keys):
                continue
            inserted = 0
            for key in keys:
                cursor = connection.execute(
                    "INSERT OR IGNORE INTO seen_items (key, seen_at) VALUES (?, ?)", (key, stamp)
                )
                if cursor.rowcount:
                    inserted += 1
                else:
                    # Still in the feed: keep it remembered, or pruning would make it new again after retention.
                    connection.execute("UPDATE seen_items SET seen_at = ? WHERE key = ?", (stamp, key))
            batch_keys.update(keys)
            # New only if no key was known: a known link under a new guid is the same article re-published.
            if inserted == len(keys):
                new_items.append(item)
        return new_items

    def prune(self, older_than: datetime) -> int:
        cursor = self.db.connection.execute(
            "DELETE FROM seen_items WHERE seen_at < ?", (int(older_than.timestamp()),)
        )
        return cursor.rowcount

    def count(self) -> int:
        return int(self.db.connection.execute("SELECT count(*) FROM seen_items").fetchone()[0])
