"""The Service: the one place that wires the stages together and owns the long-running parts.

It owns the Fetcher, the Parser, the Pipeline, the DeliveryWorker and the scheduler. `run_once` polls every feed
once and processes everything to the end; `run_forever` polls on schedule until `request_stop`; `apply` swaps
configuration and rules without a restart; `stop` shuts down in order with a bounded grace for deliveries.
Operations concerns (systemd notify, watchdog, health endpoint, SIGHUP) attach through a ServiceObserver.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import logging
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, TypeVar

from tocsin import metrics
from tocsin.backoff import Backoff
from tocsin.clock import Clock, SystemClock
from tocsin.config import Settings
from tocsin.config.feeds import FeedConfig
from tocsin.deliver.worker import DeliveryWorker
from tocsin.errors import FetchError, ParseError, StorageFailure
from tocsin.items import Item
from tocsin.parse.pool import Parser
from tocsin.parse.source import FeedSource
from tocsin.pipeline.core import IngestResult, Pipeline
from tocsin.rulebook import RuleBook
from tocsin.runtime.cycle_log import PollTally, backed_off_line
from tocsin.runtime.scheduler import FeedSchedule, FeedScheduler
from tocsin.store import Database
from tocsin.store.backend import open_store
from tocsin.store.feeds import FeedState, FeedStates
from tocsin.store.leases import FencedOut
from tocsin.store.lock import StateLock, lock_state_dir
from tocsin.store.sharing import Sharing
from tocsin.store.sql import database_errors

if TYPE_CHECKING:
    from tocsin.fetch.client import Fetcher, FetchResult

log = logging.getLogger(__name__)
T = TypeVar("T")

TICK_EVERY = timedelta(seconds=15)
FLUSH_EVERY = timedelta(seconds=5)
"""How often the health of polls that found nothing new is written (in chunks, see FeedStates.flush_in_chunks)."""
PRUNE_EVERY = timedelta(hours=1)
PRUNE_ROWS_PER_COMMIT = 500
"""Expired seen items deleted per database-thread job, polls' ingests taking their turns in between: the pruning
of a busy day is hundreds of thousands of rows."""
POLLS_STARTED_AT_ONCE = 100
"""Polls a cycle starts per event-loop iteration. Each poll's first step (its state row, the request built) runs
before the loop looks at its timers again: 5,000 started together held it for a large fraction of a second."""
CLAIM_IDLE = timedelta(seconds=1)
"""On a shared store: how long the claim loop waits, with nothing claimable, before asking the database again."""
POLLS_IN_PROGRESS_PER_FETCH_SLOT = 2
"""Polls in progress at once, per request the fetcher may have in flight: every fetch slot busy while as many
parsed bodies wait for the database thread. Ingests run there while the loop goes on fetching, so without a bound
a cycle of 5,000 changed feeds held nearly all their parsed items in memory at once (500 MB) waiting for it."""


class PollOutcome(StrEnum):
    CHANGED = "changed"
    NOT_MODIFIED = "not_modified"
    UNCHANGED = "unchanged"
    ERROR = "error"
    NOT_STORED = "not_stored"
    """Fetched, but the store failed to take the items in (a full disk): fetched again at the next poll."""
    GONE = "gone"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class ServiceStatus:
    feeds_enabled: int
    feeds_ok: int
    feeds_failing: int
    feeds_gone: int
    feeds_new: int
    last_poll_at: datetime | None
    """When the most recent poll of any feed finished."""
    last_cycle_at: datetime | None
    """When the most recent `run_once` cycle finished."""
    pending_alerts: int


class ServiceObserver:
    """Hooks for operations (systemd notify, watchdog, health); the defaults do nothing."""

    def on_started(self, service: Service) -> None:
        """Every stage is up and polling has begun."""

    def on_poll(self, service: Service, feed: str, outcome: PollOutcome) -> None:
        """One feed poll finished (any outcome)."""

    def on_stopping(self, service: Service) -> None:
        """Shutdown has begun."""


class Service:
    def __init__(
        self, settings: Settings, rules: RuleBook, *, clock: Clock | None = None,
        observer: ServiceObserver | None = None, parse_in_processes: bool = True,
    ) -> None:
        self.settings = settings
        self.rules = rules
        self.clock: Clock = clock or SystemClock()
        self.observer = observer or ServiceObserver()
        self.tally = PollTally()
        self._parse_in_processes = parse_in_processes
        self._feeds = _enabled(settings)
        self._stop_requested = asyncio.Event()
        self._in_flight: set[asyncio.Task[object]] = set()
        self._polls_in_progress = asyncio.Semaphore(POLLS_IN_PROGRESS_PER_FETCH_SLOT * settings.http.concurrency)
        self._worker_task: asyncio.Task[None] | None = None
        self._claim_task: asyncio.Task[None] | None = None
        self._claimed: set[asyncio.Task[PollOutcome]] = set()
        self._claim_wakeup = asyncio.Event()
        self._state_lock: StateLock | None = None
        self._fetcher: Fetcher | None = None
        self._scheduler = FeedScheduler(self.poll)
        self._started = False
        self.last_poll_at: datetime | None = None
        self.last_cycle_at: datetime | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store and build every stage; nothing is polled yet. An SQLite state directory has one
        instance (its lock); instances sharing a PostgreSQL store tell themselves apart by their lease name."""
        if self.settings.store.url is None:
            self._state_lock = lock_state_dir(self.settings.state_path)
        try:
            self.db: Database = open_store(self.settings)
        except BaseException:
            self._release_state_lock()
            raise
        self.states = FeedStates(self.db)
        self.states.sync(self.settings.feeds)
        self.parser = Parser(use_processes=self._parse_in_processes)
        self.worker = DeliveryWorker(self.db, self.settings.delivery, self.clock)
        # On a shared store the stages on the database thread take their time from the database: instances whose
        # machine clocks drift apart still agree on story and situation windows and on when a reminder is due.
        stage_clock = self.clock if self.db.sharing is None else self.db.sharing.clock()
        self.pipeline = Pipeline(self.db, self.settings, self.rules, stage_clock, self.worker.router)
        self._started = True
        metrics.rules_loaded.set(len(self.rules))
        self._update_failing_gauge()
        _freeze_long_lived_objects()

    @property
    def fetcher(self) -> Fetcher:
        """Made at the first poll: a cycle with nothing to fetch imports no HTTP client and loads no CA store."""
        if self._fetcher is None:
            from tocsin.fetch.client import Fetcher

            self._fetcher = Fetcher(self.settings.http)
        return self._fetcher

    async def run_once(self) -> dict[str, PollOutcome]:
        """Poll every enabled feed once, concurrently, run due time-driven work and deliver what is due. On a
        shared store only the feeds due and leased by no other instance, each claimed for the poll and handed
        back with its next time, as `run` does: a `--once` beside running instances polls nothing twice."""
        names = []
        outcomes: dict[str, PollOutcome] = {}
        sharing = self.db.sharing
        if sharing is not None:
            claimed = set(await self.db.run(sharing.claim_due_feeds, len(self._feeds)))
            names = [name for name in self._feeds if name in claimed]
            outcomes = {name: PollOutcome.SKIPPED for name in self._feeds if name not in claimed}
            polls = asyncio.ensure_future(self._poll_all(names, lambda name: self._poll_claimed(sharing, name)))
            return await self._finish_cycle(names, polls, outcomes)
        now = self.clock.now()
        # One query for the few failing feeds, not one per feed: this runs on the event loop.
        unhealthy = {state.name: state for state in self.states.unhealthy()}
        for name in self._feeds:
            state = unhealthy.get(name)
            if state is not None and state.consecutive_failures and state.next_poll_at and state.next_poll_at > now:
                log.info('feed "%s": backing off until %s after %d failure(s); not polled',
                         name, state.next_poll_at.isoformat(timespec="seconds"), state.consecutive_failures,
                         extra={"feed": name})
                outcomes[name] = PollOutcome.SKIPPED
                self.tally.polled(PollOutcome.SKIPPED.value)
            else:
                names.append(name)
        polls = asyncio.ensure_future(self._poll_all(names, self.poll))
        return await self._finish_cycle(names, polls, outcomes)

    async def _finish_cycle(self, names: list[str], polls: asyncio.Future[list[PollOutcome]],
                            outcomes: dict[str, PollOutcome]) -> dict[str, PollOutcome]:
        """Wait for the cycle's polls (or a stop), then the flush, tick, pruning and deliveries."""
        stop = asyncio.ensure_future(self._stop_requested.wait())
        waiting: list[asyncio.Future[Any]] = [polls, stop]
        await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not polls.done():
            polls.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await polls
            return outcomes
        outcomes.update(zip(names, polls.result(), strict=True))
        await self._flush()
        await self._tick()
        await self._prune()
        await self.worker.drain(timeout_s=self.settings.http.total_timeout.total_seconds())
        self.last_cycle_at = self.clock.now()
        self.tally.log_and_reset()
        return outcomes

    async def _poll_all(self, names: list[str],
                        poll: Callable[[str], Coroutine[Any, Any, PollOutcome]]) -> list[PollOutcome]:
        started: list[asyncio.Task[PollOutcome]] = []
        try:
            for start in range(0, len(names), POLLS_STARTED_AT_ONCE):
                if start:
                    await asyncio.sleep(0)
                started += [asyncio.create_task(poll(name)) for name in names[start:start + POLLS_STARTED_AT_ONCE]]
            return list(await asyncio.gather(*started))
        except asyncio.CancelledError:
            for task in started:
                task.cancel()
            await asyncio.gather(*started, return_exceptions=True)
            raise

    async def run_forever(self) -> None:
        """Poll on schedule and deliver until request_stop() is called."""
        sharing = self.db.sharing
        # On a shared store the tick also renews the leader lease and this instance's heartbeat: well within a lease.
        tick_every = TICK_EVERY if sharing is None else min(TICK_EVERY, timedelta(seconds=sharing.lease_seconds / 3))
        self._scheduler.add_chore("tick", tick_every, self._tick)
        self._scheduler.add_chore("prune", PRUNE_EVERY, self._prune)
        self._scheduler.add_chore("flush", FLUSH_EVERY, self._flush)
        self._scheduler.add_chore("summary", self.settings.polling.interval, self._summarize)
        if sharing is None:
            schedules = await self._schedules(initial=True)
            now = self.clock.now()
            if schedules and all(s.first_run_at > now + self.settings.polling.jitter for s in schedules.values()):
                # Otherwise a restart after an outage stays silent until the stored backoffs end, like a hang.
                log.info("%s", backed_off_line([s.first_run_at for s in schedules.values()], now))
            self._scheduler.sync(schedules)
        else:
            # The feeds' times are the shared store's: instead of a timer per feed, claim what is due.
            self._claim_task = asyncio.create_task(self._claim_loop(sharing), name="claim feeds")
        self._scheduler.start()
        self._worker_task = asyncio.create_task(self.worker.run(), name="delivery")
        await self._prune()
        self.observer.on_started(self)
        await self._stop_requested.wait()

    def request_stop(self) -> None:
        """Ask run_once/run_forever to return (safe from a signal handler)."""
        self._stop_requested.set()

    async def stop(self, grace_s: float = 10.0) -> None:
        """Stop scheduling, cancel polls in flight, give deliveries `grace_s`, close everything."""
        if not self._started:
            return
        self._started = False
        self.request_stop()
        self.observer.on_stopping(self)
        self._scheduler.shutdown()
        claims = [task for task in (self._claim_task, *self._claimed) if task is not None]
        for task in [*self._in_flight, *claims]:
            task.cancel()
        await asyncio.gather(*self._in_flight, *claims, return_exceptions=True)
        if self._worker_task is not None:
            self._worker_task.cancel()
            # Bounded: a worker that ignores its cancellation must not hold the stop past systemd's timeout.
            await asyncio.wait({self._worker_task}, timeout=grace_s)
        try:
            remaining = await asyncio.wait_for(self.worker.drain(timeout_s=grace_s), timeout=grace_s + 1)
            if remaining:
                log.warning("%d delivery(ies) still pending at shutdown; they are sent after the next start",
                            remaining)
        except TimeoutError:
            log.warning("deliveries did not finish within the %gs grace; they stay queued", grace_s)
        await self.worker.close()
        if self._fetcher is not None:
            await self._fetcher.close()
        await asyncio.to_thread(self.parser.close)
        async with self._unless_the_store_fails("feed health of the last polls"):
            await self.db.run(self.states.flush)
        self.db.close()
        self._release_state_lock()

    def _release_state_lock(self) -> None:
        if self._state_lock is not None:
            self._state_lock.release()
            self._state_lock = None

    # -- reload ----------------------------------------------------------------------------------------------

    async def apply(self, settings: Settings, rules: RuleBook) -> None:
        """Swap configuration and rules; feeds added, removed or changed are rescheduled, state is kept."""
        if settings.database_path != self.settings.database_path:
            log.warning("state_dir changed to %s; this takes effect at the next restart", settings.state_path)
        # In the database's turn: an ingest or tick on the database thread finishes with the rules and settings it
        # started with, and the next one starts with the new ones.
        async with self.db.turn():
            old_http = self.settings.http
            self.settings, self.rules = settings, rules
            self.pipeline.swap(settings, rules)
            self.worker.configure(settings.delivery)
            if settings.http != old_http and self._fetcher is not None:
                self._fetcher.configure(settings.http)
            self._feeds = _enabled(settings)
            await self.db.run(self.states.sync, settings.feeds)
            if self._scheduler.running:
                self._scheduler.sync(await self._schedules(initial=False))
        metrics.rules_loaded.set(len(rules))
        self._update_failing_gauge()
        _freeze_long_lived_objects()

    @property
    def scheduler_running(self) -> bool:
        """For /healthz and the watchdog: polls are being scheduled."""
        return self._scheduler.running

    def status(self) -> ServiceStatus:
        health = self.states.health_counts(self._feeds.keys())
        return ServiceStatus(
            feeds_enabled=len(self._feeds), feeds_ok=health["ok"], feeds_failing=health["failing"],
            feeds_gone=health["gone"], feeds_new=health["new"], last_poll_at=self.last_poll_at,
            last_cycle_at=self.last_cycle_at, pending_alerts=self.worker.pending(),
        )

    # -- one poll --------------------------------------------------------------------------------------------

    async def poll(self, name: str) -> PollOutcome:
        """Fetch, parse and ingest one feed; every failure is recorded in its health, never raised."""
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        try:
            async with self._polls_in_progress:
                outcome = await self._poll(name)
        except Exception:
            # A bug must cost one poll of one feed, not the daemon.
            log.exception('feed "%s": unexpected error while polling', name, extra={"feed": name})
            outcome = PollOutcome.ERROR
        finally:
            if task is not None:
                self._in_flight.discard(task)
        metrics.polls.labels(outcome.value).inc()
        self.tally.polled(outcome.value)
        self.last_poll_at = self.clock.now()
        self.observer.on_poll(self, name, outcome)
        return outcome

    async def _poll(self, name: str) -> PollOutcome:
        from tocsin.fetch.client import Validators  # with the fetcher, at the first poll

        feed = self._feeds.get(name)
        state = self.states.get(name)
        if feed is None or state is None or state.gone:
            return PollOutcome.SKIPPED
        try:
            result = await self.fetcher.fetch(feed.url, Validators(state.etag, state.last_modified),
                                              allow_internal_redirects=feed.allow_internal_redirects)
        except FetchError as exc:
            return await self._record_failure(feed, str(exc), exc.status, exc.retry_after_s)
        if self._feeds.get(name) is not feed:
            return PollOutcome.SKIPPED  # reconfigured while fetching: the answer belongs to the old settings
        metrics.fetch_seconds.observe(result.elapsed_s)
        now = self.clock.now()
        if result.body is None:
            self._record_touch(feed, state, result, now)
            return PollOutcome.NOT_MODIFIED
        body_hash = hashlib.blake2b(result.body, digest_size=16).hexdigest()
        if body_hash == state.body_hash:
            self._record_touch(feed, state, result, now)
            return PollOutcome.UNCHANGED
        source = FeedSource(feed.name, result.url, feed.tags, feed.language, result.content_type,
                            state.known_entries(now))
        try:
            parsed = await self.parser.parse(result.body, source, now)
        except ParseError as exc:
            return await self._record_failure(feed, str(exc), result.status, None)
        moved = f"moved permanently to {result.moved_to}: update its url" if result.moved_to else None
        warning = "; ".join(text for text in (moved, result.warning, parsed.warning) if text) or None
        if warning:
            log.warning('feed "%s": %s', feed.name, warning, extra={"feed": name})
        silent = not state.first_fetch_done and not feed.backfill
        # News older than the retention period is never new: its seen record may already have been pruned.
        cutoff = now - self.settings.store.retention
        kept = [(item, digest) for item, digest in zip(parsed.items, parsed.item_digests, strict=True)
                if item.published is None or item.published >= cutoff]
        recent = [item for item, _ in kept]
        # Known next time: what this ingest takes in, and what it passed over as known (still in the body).
        taken_in = parsed.passed_over.union(digest for _, digest in kept)
        # Entries passed over keep the time they were last checked; a parse that passed over none checked them all.
        checked_at = state.entries_checked_at if parsed.passed_over else now
        fetched = _Fetched(result, now, self._next_poll(feed, now), body_hash, warning, taken_in,
                           checked_at)
        try:
            async with self.db.turn():
                if self._feeds.get(name) is not feed:
                    return PollOutcome.SKIPPED
                # Rules, escalation, routing and the commit (with its fsync, and now and then a WAL checkpoint) run
                # on the database thread; the event loop goes on with other polls, timers and deliveries meanwhile.
                ingested = await self.db.run(self._ingest, feed, recent, silent, fetched)
        except database_errors() as exc:
            await self._record_not_stored(feed, exc, result.status)
            return PollOutcome.NOT_STORED
        self._recovered(feed, state)
        self.tally.ingested(ingested.new_items, len(ingested.alerts))
        metrics.items.labels("new").inc(ingested.new_items)
        metrics.items.labels("seen").inc(ingested.seen_items + len(parsed.passed_over))
        log.info('feed "%s": %d item(s), %d new%s, %d alert(s)', feed.name,
                 len(parsed.items) + len(parsed.passed_over), ingested.new_items,
                 " (first fetch: recorded silently)" if silent else "", len(ingested.alerts), extra={"feed": feed.name})
        return PollOutcome.CHANGED

    def _ingest(self, feed: FeedConfig, items: list[Item], silent: bool, fetched: _Fetched) -> IngestResult:
        """On the database thread: the items and the feed's new state, in one transaction."""
        result = fetched.result
        with self.db.transaction():
            ingested = self.pipeline.ingest(feed, items, silent=silent)
            self.states.record_parsed(
                feed.name, status=result.status, now=fetched.now, next_poll_at=fetched.next_poll_at,
                etag=result.etag, last_modified=result.last_modified, body_hash=fetched.body_hash,
                new_items=ingested.new_items, warning=fetched.warning, entry_digests=fetched.entry_digests,
                entries_checked_at=fetched.entries_checked_at,
            )
        return ingested

    def _record_touch(self, feed: FeedConfig, state: FeedState, result: FetchResult, now: datetime) -> None:
        """A poll that found nothing new: kept in memory until the next flush."""
        self.states.touch(feed.name, status=result.status, now=now, next_poll_at=self._next_poll(feed, now),
                          etag=result.etag, last_modified=result.last_modified)
        self._recovered(feed, state)

    def _recovered(self, feed: FeedConfig, state: FeedState) -> None:
        if state.consecutive_failures:
            log.info('feed "%s": recovered', feed.name, extra={"feed": feed.name})
            self._update_failing_gauge()

    async def _record_failure(
        self, feed: FeedConfig, error: str, status: int | None, retry_after_s: float | None
    ) -> PollOutcome:
        now = self.clock.now()
        if status == 410:
            await self.db.run(self.states.mark_gone, feed.name, error=error, now=now)
            self._scheduler.remove(feed.name)
            log.error('feed "%s": %s', feed.name, error, extra={"feed": feed.name})
            self._update_failing_gauge()
            return PollOutcome.GONE
        state = self.states.get(feed.name)
        failures = (state.consecutive_failures if state else 0) + 1
        retry_after = timedelta(seconds=retry_after_s) if retry_after_s is not None else None
        interval = self.settings.feed_interval(feed)
        policy = Backoff(base=interval, maximum=max(self.settings.polling.backoff_max, interval))
        next_poll_at = now + policy.delay(failures, retry_after)
        await self._write_failure(feed, error, status, now, next_poll_at)
        self._scheduler.postpone(feed.name, next_poll_at)
        log.warning('feed "%s": %s (failure %d; next try %s)', feed.name, error, failures,
                    next_poll_at.isoformat(timespec="seconds"), extra={"feed": feed.name})
        self._update_failing_gauge()
        return PollOutcome.ERROR

    async def _record_not_stored(self, feed: FeedConfig, exc: Exception, status: int) -> None:
        """An ingest that the store failed: nothing of it was committed, the feed's state included, so the next
        poll fetches the same items again. The feed counts as failing, without a backoff (not the feed's fault)."""
        now = self.clock.now()
        next_poll_at = self._next_poll(feed, now)
        await self._write_failure(feed, str(exc), status, now, next_poll_at)
        if isinstance(exc, StorageFailure):
            # The store said what is wrong once (store/db.py); one such line per feed would bury it.
            log.info('feed "%s": fetched, not taken in while the store cannot write; polled again at %s',
                     feed.name, next_poll_at.isoformat(timespec="seconds"), extra={"feed": feed.name})
        else:
            log.warning('feed "%s": fetched, not taken in (%s); polled again at %s', feed.name, exc,
                        next_poll_at.isoformat(timespec="seconds"), extra={"feed": feed.name})
        self._update_failing_gauge()

    async def _write_failure(self, feed: FeedConfig, error: str, status: int | None, now: datetime,
                             next_poll_at: datetime) -> None:
        with contextlib.suppress(*database_errors()):  # held in memory until the store can write (FeedStates)
            await self.db.run(self.states.record_failure, feed.name, error=error, status=status, now=now,
                              next_poll_at=next_poll_at)

    # -- scheduling helpers ----------------------------------------------------------------------------------

    def _next_poll(self, feed: FeedConfig, now: datetime) -> datetime:
        return self._scheduler.next_run(feed.name) or now + self.settings.feed_interval(feed)

    async def _schedules(self, *, initial: bool) -> dict[str, FeedSchedule]:
        """One schedule per pollable feed. At start, a feed keeps the next-poll time stored before a restart
        (so a restart neither floods every host nor forgets a backoff), else starts within the jitter."""
        # Every feed's row: about 120 ms of work at 5,000 feeds, done on the database thread.
        states = {state.name: state for state in await self.db.run(self.states.all)}
        now = self.clock.now()
        jitter = self.settings.polling.jitter
        schedules = {}
        for name, feed in self._feeds.items():
            state = states.get(name)
            if state is None or state.gone:
                continue
            interval = self.settings.feed_interval(feed)
            first = now + timedelta(seconds=random.uniform(0, min(jitter, interval).total_seconds()))  # noqa: S311
            if initial and state.next_poll_at and state.next_poll_at > first:
                limit = self.settings.polling.backoff_max if state.consecutive_failures else interval
                first = min(state.next_poll_at, now + limit)
            schedules[name] = FeedSchedule(interval=interval, jitter=jitter, first_run_at=first)
        return schedules

    async def _summarize(self) -> None:
        self.tally.log_and_reset()

    async def _flush(self) -> None:
        async with self._unless_the_store_fails("feed health"):
            await self.states.flush_in_chunks()

    async def _tick(self) -> None:
        async with self._unless_the_store_fails("reminders and situation decay"):
            await self._singleton(self.pipeline.tick)

    @contextlib.asynccontextmanager
    async def _unless_the_store_fails(self, what: str) -> AsyncIterator[None]:
        """A periodic job that the store failed is put off to its next run: it neither ends the cycle nor fills
        the log with tracebacks, and a full or failing disk is already in /healthz and logged once (store/db.py)."""
        try:
            yield
        except database_errors() as exc:
            if self.db.storage_error is None:
                log.error("%s not written, tried again later: %s", what, exc)
            else:
                log.debug("%s not written while the store cannot write", what)

    async def _singleton(self, job: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """Run a singleton job on the database thread; on a shared store only while this instance leads, inside
        one transaction that checks the fencing epoch (a leader paused past its lease has its writes refused).
        None when another instance leads or the lead was lost."""
        sharing = self.db.sharing
        if sharing is None:
            return await self.db.run(job, *args, **kwargs)
        await self.db.run(sharing.heartbeat)
        epoch = await self.db.run(sharing.lead)
        if epoch is None:
            return None
        try:
            return await self.db.run(_fenced, self.db, sharing, epoch, job, *args, **kwargs)
        except FencedOut as exc:
            log.warning("%s", exc)
            return None

    async def _claim_loop(self, sharing: Sharing) -> None:
        """Claim due feeds as poll slots free up, poll each once and hand it back with its next time."""
        slots = POLLS_IN_PROGRESS_PER_FETCH_SLOT * self.settings.http.concurrency
        while True:
            self._claim_wakeup.clear()
            try:
                names = await self.db.run(sharing.claim_due_feeds, slots - len(self._claimed))
            except database_errors() as exc:
                log.error("feeds cannot be claimed, retrying in %gs: %s", CLAIM_IDLE.total_seconds(), exc)
                names = []
            for name in names:
                task = asyncio.create_task(self._poll_claimed(sharing, name), name=f"poll {name}")
                self._claimed.add(task)
                task.add_done_callback(self._claimed.discard)
            if not names or len(self._claimed) >= slots:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(CLAIM_IDLE.total_seconds()):
                        await self._claim_wakeup.wait()

    async def _poll_claimed(self, sharing: Sharing, name: str) -> PollOutcome:
        """Poll a feed this instance claimed, then hand it back with its next time (its lease cleared)."""
        outcome = PollOutcome.ERROR
        try:
            outcome = await self.poll(name)
            feed = self._feeds.get(name)
            state = self.states.get(name)
            now = self.clock.now()
            if state is not None and state.consecutive_failures and state.next_poll_at is not None:
                next_poll_at = state.next_poll_at  # the backoff the failure recorded
            else:
                next_poll_at = self._next_poll(feed, now) if feed else now + self.settings.polling.interval
            if not await self.db.run(sharing.finish_feed, name, max((next_poll_at - now).total_seconds(), 0.0)):
                log.warning('feed "%s": its lease ran out during the poll; another instance may have polled it too',
                            name, extra={"feed": name})
        except database_errors() as exc:
            log.error('feed "%s": the poll could not be handed back (%s); it is claimed again after the lease',
                      name, exc, extra={"feed": name})
        finally:
            self._claim_wakeup.set()
        return outcome

    async def _prune(self) -> None:
        async with self._unless_the_store_fails("pruning of seen items"):
            await self._prune_chunks()

    async def _prune_chunks(self) -> None:
        dropped = 0
        while True:
            chunk = await self._singleton(self.pipeline.prune, limit=PRUNE_ROWS_PER_COMMIT)
            if chunk is None:
                return
            dropped += chunk
            if chunk < PRUNE_ROWS_PER_COMMIT:
                break
        if dropped:
            log.info("forgot %d seen item(s) older than %s", dropped, self.settings.store.retention)

    def _update_failing_gauge(self) -> None:
        metrics.feeds_failing.set(self.states.count_unhealthy())


@dataclass(frozen=True, slots=True)
class _Fetched:
    """A poll's answer with a new body, as the database thread records it with the feed's items."""

    result: FetchResult
    now: datetime
    next_poll_at: datetime
    body_hash: str
    warning: str | None
    entry_digests: frozenset[int]
    entries_checked_at: datetime | None


def _fenced(db: Database, sharing: Sharing, epoch: int, job: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """On the database thread: `job` in one transaction with the leader's fencing check."""
    with db.transaction():
        sharing.fence(epoch)
        return job(*args, **kwargs)


def _enabled(settings: Settings) -> dict[str, FeedConfig]:
    return {feed.name: feed for feed in settings.feeds if feed.enabled}



def _freeze_long_lived_objects() -> None:
    """Compiled rules, configuration and imported modules live as long as the process (or the next reload): take
    them out of the garbage collector's full passes, which otherwise walk them all and pause the event loop for
    about 15 ms each time."""
    gc.freeze()
