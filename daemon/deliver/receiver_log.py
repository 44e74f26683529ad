"""What the delivery worker says about a receiver that fails: one WARNING when it starts failing, one INFO when
it recovers, and while it stays down a summary every SUMMARY_EVERY, instead of a WARNING for every attempt of
every delivery (a down receiver with a backlog retried every few seconds would otherwise fill the journal).
Each attempt is still logged at DEBUG and counted in tocsin_deliveries_total."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tocsin.units import format_duration

SUMMARY_EVERY = timedelta(minutes=10)


@dataclass(slots=True)
class _Failing:
    since: datetime
    attempts: int
    last_reason: str
    summarised_at: datetime


class ReceiverHealth:
    """Which receivers are failing, since when, and how often; it only words the lines, the worker logs them."""

    def __init__(self, summary_every: timedelta = SUMMARY_EVERY) -> None:
        self.summary_every = summary_every
        self._failing: dict[str, _Failing] = {}

    def failed(self, receiver: str, reason: str, now: datetime) -> str | None:
        """The line to log when `receiver` has just started failing; None while it already was."""
        failing = self._failing.get(receiver)
        if failing is not None:
            failing.attempts += 1
            failing.last_reason = reason
            return None
        self._failing[receiver] = _Failing(since=now, attempts=1, last_reason=reason, summarised_at=now)
        return (f"receiver {receiver} is failing: {reason}; its deliveries are retried, and a summary follows "
                f"every {format_duration(self.summary_every)} while it stays down")

    def delivered(self, receiver: str, now: datetime) -> str | None:
        """The line to log when `receiver` has just recovered; None when it was not failing."""
        failing = self._failing.pop(receiver, None)
        if failing is None:
            return None
        return (f"receiver {receiver} recovered after {failing.attempts} failed attempt(s) over "
                f"{format_duration(now - failing.since)}")

    def summary(self, receiver: str, now: datetime) -> str | None:
        """The summary line for `receiver` when it is still failing and its last summary is SUMMARY_EVERY old."""
        failing = self._failing.get(receiver)
        if failing is None or now - failing.summarised_at < self.summary_every:
            return None
        failing.summarised_at = now
        return (f"receiver {receiver} still failing for {format_duration(now - failing.since)}: "
                f"{failing.attempts} failed attempt(s), last: {failing.last_reason}")
