"""When each feed is polled: one APScheduler 3 interval job per enabled feed, plus the service's periodic chores.

Jobs never overlap (max_instances=1), missed runs collapse into one (coalesce) however late the loop woke up, and
every run starts up to `jitter` late so feeds of one host spread out. APScheduler is imported and built at the first
job: `run --once` polls every feed without it (its import is about 20 ms of CPU).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler
    from apscheduler.triggers.interval import IntervalTrigger

log = logging.getLogger(__name__)

_FEED_PREFIX = "feed:"


@dataclass(frozen=True, slots=True)
class FeedSchedule:
    interval: timedelta
    jitter: timedelta
    first_run_at: datetime


class FeedScheduler:
    def __init__(self, poll: Callable[[str], Awaitable[object]]) -> None:
        self._poll = poll
        self._built: AsyncIOScheduler | None = None
        self._schedules: dict[str, FeedSchedule] = {}

    @property
    def _scheduler(self) -> AsyncIOScheduler:
        if self._built is None:
            from apscheduler.schedulers.asyncio import AsyncIOScheduler

            self._built = AsyncIOScheduler(timezone=UTC)
        return self._built

    def start(self) -> None:
        """Start firing jobs (needs the running event loop)."""
        self._scheduler.start()

    @property
    def running(self) -> bool:
        return self._built is not None and bool(self._built.running)

    def shutdown(self) -> None:
        """Stop firing; polls already running are cancelled by the scheduler's executor."""
        if self.running:
            self._scheduler.shutdown(wait=False)

    def add_chore(self, name: str, every: timedelta, chore: Callable[[], Awaitable[None]]) -> None:
        """A periodic service task (reminders, pruning); never overlaps itself."""
        from apscheduler.triggers.interval import IntervalTrigger

        self._scheduler.add_job(
            chore, IntervalTrigger(seconds=every.total_seconds(), timezone=UTC), id=f"chore:{name}",
            name=name, max_instances=1, coalesce=True, misfire_grace_time=None, replace_existing=True,
        )

    def sync(self, schedules: Mapping[str, FeedSchedule]) -> None:
        """Make the feed jobs match `schedules`: add new ones, drop removed ones, re-time changed ones.
        A feed whose interval and jitter are unchanged keeps its place in time."""
        for name in set(self._schedules) - set(schedules):
            self.remove(name)
        for name, schedule in schedules.items():
            current = self._schedules.get(name)
            if current is not None and (current.interval, current.jitter) == (schedule.interval, schedule.jitter):
                continue
            self._scheduler.add_job(
                self._poll, _trigger(schedule), args=(name,), id=_FEED_PREFIX + name, name=f"poll {name}",
                next_run_time=schedule.first_run_at, max_instances=1, coalesce=True, misfire_grace_time=None,
                replace_existing=True,
            )
            self._schedules[name] = schedule

    def remove(self, name: str) -> None:
        """Stop polling a feed (removed from config, or gone)."""
        if self._schedules.pop(name, None) is not None and self._scheduler.get_job(_FEED_PREFIX + name):
            self._scheduler.remove_job(_FEED_PREFIX + name)

    def postpone(self, name: str, until: datetime) -> None:
        """Next poll of this feed no sooner than `until` (backoff, Retry-After); later polls follow its interval."""
        if name in self._schedules and self._scheduler.get_job(_FEED_PREFIX + name):
            self._scheduler.modify_job(_FEED_PREFIX + name, next_run_time=until)

    def next_run(self, name: str) -> datetime | None:
        if self._built is None:
            return None
        job = self._built.get_job(_FEED_PREFIX + name)
        return job.next_run_time if job is not None else None


def _trigger(schedule: FeedSchedule) -> IntervalTrigger:
    from apscheduler.triggers.interval import IntervalTrigger

    return IntervalTrigger(
        seconds=schedule.interval.total_seconds(), jitter=schedule.jitter.total_seconds() or None, timezone=UTC
    )
