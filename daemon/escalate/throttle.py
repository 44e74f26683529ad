"""Re-alert intervals: per scope (a rule, a situation) and key (a place, a level), at most one alert per interval."""

from __future__ import annotations

from datetime import datetime, timedelta

from tocsin.store import Database


class Throttle:
    def __init__(self, db: Database) -> None:
        self.db = db

    def allow(self, scope: str, key: str, now: datetime, interval: timedelta) -> bool:
        """True (and remembered as the last alert) when nothing under scope+key alerted within `interval`."""
        # One statement: the row is written (rowcount 1) only when it is new or its last alert is old enough.
        cursor = self.db.connection.execute(
            "INSERT INTO throttle (scope, key, last_at) VALUES (?, ?, ?) "
            "ON CONFLICT (scope, key) DO UPDATE SET last_at = excluded.last_at "
            "WHERE excluded.last_at - throttle.last_at >= ?",
            (scope, key, int(now.timestamp()), interval.total_seconds()),
        )
        return cursor.rowcount == 1

    def prune(self, before: datetime) -> int:
        return self.db.connection.execute(
            "DELETE FROM throttle WHERE last_at < ?", (int(before.timestamp()),)
        ).rowcount
