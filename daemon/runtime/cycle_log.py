"""The daemon's summary of its polls: one INFO line per poll cycle instead of silence between per-feed lines.

A cycle is a `run --once` pass, or in the daemon one polling interval (feeds are polled on their own schedules,
so the interval is the natural period). When every feed polled in a cycle failed, the line is a WARNING that says
so plainly, since one failure line per feed reads like fifteen separate problems rather than one network outage.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime

log = logging.getLogger(__name__)

FAILED = frozenset({"error", "gone"})
"""Outcomes (PollOutcome values) that mean the feed could not be read."""
NOT_STORED = "not_stored"
"""The outcome of a feed read but not taken in: the state store failed."""


class PollTally:
    """Counts polls, new items and alerts since the last summary."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.new_items = 0
        self.alerts = 0

    def polled(self, outcome: str) -> None:
        self.outcomes[outcome] += 1

    def ingested(self, new_items: int, alerts: int) -> None:
        self.new_items += new_items
        self.alerts += alerts

    def summary(self) -> tuple[int, str] | None:
        """(log level, line) for the polls counted so far; None when nothing was polled."""
        polled = sum(count for outcome, count in self.outcomes.items() if outcome != "skipped")
        if not polled:
            return None
        failed = sum(self.outcomes[outcome] for outcome in FAILED)
        not_stored = self.outcomes[NOT_STORED]
        parts = [f"{self.outcomes['changed']} changed", f"{self.outcomes['not_modified']} not modified",
                 f"{self.outcomes['unchanged']} unchanged", f"{failed} failed"]
        if not_stored:
            parts.append(f"{not_stored} not taken in")
        if self.outcomes["skipped"]:
            parts.append(f"{self.outcomes['skipped']} backing off")
        line = f"polled {polled} feed(s): {', '.join(parts)}; {self.new_items} new item(s), {self.alerts} alert(s)"
        if not_stored:
            return logging.WARNING, (f"{not_stored} feed(s) read but not taken in: the state store cannot write; "
                                     f"they are read again at their next poll ({line})")
        if failed == polled:
            return logging.WARNING, f"0 of {polled} feed(s) reachable: network or DNS down? ({line})"
        return logging.INFO, line

    def log_and_reset(self) -> None:
        summary = self.summary()
        if summary is not None:
            log.log(*summary)
        self.outcomes = Counter()
        self.new_items = self.alerts = 0


def backed_off_line(first_polls: list[datetime], now: datetime) -> str:
    """The start-up line when no feed is due soon because every one is backing off after failures."""
    earliest = min(first_polls)
    wait = max(0, round((earliest - now).total_seconds()))
    return (f"every feed is backing off after failures: next poll at {earliest.isoformat(timespec='seconds')} "
            f"(in {wait // 60} min {wait % 60} s); `tocsin feeds` shows why")
