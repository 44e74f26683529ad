"""One backoff policy for everything that retries (feed polls and deliveries): exponential, capped, jittered,
and never sooner than a server's Retry-After."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime


@dataclass(frozen=True, slots=True)
class Backoff:
    base: timedelta
    maximum: timedelta
    jitter: float = 0.2
    """Fraction of the delay added at random, so that many failing peers do not retry in lockstep."""

    def delay(self, failures: int, retry_after: timedelta | None = None, rng: random.Random | None = None) -> timedelta:
        """The wait after `failures` consecutive failures (1 = the first failure)."""
        exponent = max(failures - 1, 0)
        seconds = min(self.base.total_seconds() * (2 ** min(exponent, 32)), self.maximum.total_seconds())
        seconds += seconds * self.jitter * (rng or random).random()
        wait = timedelta(seconds=min(seconds, self.maximum.total_seconds()))
        if retry_after is not None:
            wait = max(wait, min(retry_after, self.maximum))
        return wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> timedelta | None:
    """Retry-After as seconds or an HTTP date; None when absent or unreadable (then our own backoff applies)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - (now or datetime.now(UTC)), timedelta(0))
