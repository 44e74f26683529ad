"""The Clock every stage asks for "now": the system clock in `run`, a simulated one in `replay` and tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class SimulatedClock:
    """A clock that only moves when told to; it never goes backwards."""

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance_to(self, when: datetime) -> None:
        when = when.astimezone(UTC)
        if when > self._now:
            self._now = when

    def advance(self, by: timedelta) -> None:
        self._now += by
