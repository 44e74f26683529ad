"""The delivery worker: sends what the outbox holds, retries with the shared backoff, dead-letters what cannot be
delivered. Owned and driven by the Service (`run` until cancelled, `drain` for `run --once` and shutdown).

At least once: a delivery is marked delivered only after its receiver accepted it (outcomes of sends that finish
together are written in one transaction); a crash in between sends it again after the restart, with the same alert
ids (receivers dedupe on them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from tocsin import metrics
from tocsin.backoff import Backoff
from tocsin.clock import Clock
from tocsin.config.delivery import DeliveryConfig
from tocsin.deliver.base import Outcome, Sender
from tocsin.deliver.receiver_log import ReceiverHealth
from tocsin.deliver.route import Router
from tocsin.errors import ConfigError
from tocsin.store import Database
from tocsin.store.outbox import Delivery
from tocsin.store.sql import database_errors
from tocsin.units import format_duration

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("tocsin.deliver")

_IDLE_POLL_S = 5.0
"""Longest sleep between looks at the outbox (another process, e.g. `tocsin alerts retry`, may have changed it)."""
_HOUSEKEEPING_EVERY_S = 3600.0
_IDLE_CONNECTIONS = 8
"""Kept-alive connections per receiver origin (sends in flight are bounded by delivery.per_receiver)."""
_GAUGES_EVERY_S = 1.0
_RECORD_EVERY_S = 0.02
"""Outcomes of sends finished meanwhile are written together at most this often while sends are in flight: one
fsync for many deliveries. A crash in between only means those are sent again (at least once)."""


class Wakeup:
    """An asyncio.Event that the database thread may set too (routing runs there, inside an ingest)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def set(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            # Not on an event loop's thread: hand the wake-up to the loop that waits (if one ever did).
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(self._event.set)
                return
        self._event.set()

    def clear(self) -> None:
        self._event.clear()

    async def wait(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._event.wait()


class DeliveryWorker:
    """Sends what the outbox holds. It owns its wake-up and the Router that queues into the outbox, so the
    pipeline that routes (give it `worker.router`) and the worker that flushes share one grouping."""

    def __init__(self, db: Database, config: DeliveryConfig, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.wakeup = Wakeup()
        """Set when something was queued, so the worker wakes at once instead of at its next poll."""
        self.router = Router(db, config, clock, on_queued=self.wakeup.set)
        self.store = self.router.store
        self.grouper = self.router.grouper
        self.config = config
        self._backoff = Backoff(base=config.retry.base, maximum=config.retry.max)
        self._senders: dict[str, Sender | str] = {}
        self._http: dict[Path | None, httpx.AsyncClient] = {}
        """One pooled client per CA bundle that receivers trust (None: the system's store)."""
        self._inflight: dict[int, asyncio.Task[Outcome]] = {}
        self._inflight_to: Counter[str] = Counter()
        self._paused_until: dict[str, datetime] = {}
        """A receiver that failed gets no new attempts until then: a down receiver is not hammered with the whole
        backlog at once, and a Retry-After applies to everything queued for it."""
        self.receiver_health = ReceiverHealth()
        self._finished: list[tuple[Delivery, Outcome, bool]] = []
        """Outcomes not yet written: the loop records them in one transaction (one fsync for many sends)."""
        self._last_housekeeping = 0.0
        self._last_record = 0.0
        self._last_gauges = 0.0

    def configure(self, config: DeliveryConfig) -> None:
        """Reload: new receivers and routes apply to the next send; deliveries in flight finish as they are."""
        self.config = config
        self.router.configure(config)
        self._backoff = Backoff(base=config.retry.base, maximum=config.retry.max)
        self._senders.clear()

    # -- what the Service calls ------------------------------------------------------------------------------

    async def run(self) -> None:
        """Deliver until cancelled. Sends in flight when cancelled keep running (drain gives them their grace)."""
        while True:
            self.wakeup.clear()
            try:
                started = await self._cycle(ignore_wait=False, record_all=False)
                async with self.db.turn():
                    wait_s = self._seconds_until_due() if started == 0 else 0.0
                if self._finished:
                    wait_s = min(wait_s, _RECORD_EVERY_S)
            except database_errors() as exc:
                log.error("outbox unavailable, retrying in %gs: %s", _IDLE_POLL_S, exc)
                wait_s = _IDLE_POLL_S
            except Exception:
                # A bug must not silently end delivery for the life of the daemon: log it and carry on.
                log.exception("delivery worker: unexpected error, retrying in %gs", _IDLE_POLL_S)
                wait_s = _IDLE_POLL_S
            if wait_s > 0:
                # asyncio.timeout, not wait_for: on 3.11 wait_for swallows a cancel that arrives as the event is set,
                # and the Service's stop would then wait for this loop forever.
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(wait_s):
                        await self.wakeup.wait()

    async def drain(self, timeout_s: float) -> int:
        """Send every group that waits (digests keep their schedule) and every delivery due now, waiting at most
        `timeout_s`; returns how many deliveries remain pending (later retries included)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        try:
            while True:
                await self._cycle(ignore_wait=True)
                remaining = deadline - loop.time()
                if not self._inflight or remaining <= 0:
                    break
                await asyncio.wait(list(self._inflight.values()), timeout=remaining,
                                   return_when=asyncio.FIRST_COMPLETED)
            await self._record_finished()
        except database_errors() as exc:
            log.warning("outbox unavailable, deliveries put off: %s", exc)
        self._last_gauges = 0.0
        self._update_gauges()
        return self.pending()

    async def close(self) -> None:
        """Cancel what is still in flight (it stays pending in the outbox) and release the HTTP client."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        try:
            await self._record_finished()
        except database_errors() as exc:
            log.warning("%d delivery outcome(s) not written (%s); those alerts are sent again after the next start",
                        len(self._finished), exc)
        for client in self._http.values():
            await client.aclose()
        self._http.clear()

    def pending(self) -> int:
        return self.store.count("pending")

    def dead(self) -> int:
        return self.store.count("dead")

    async def deliver_now(self, delivery_id: int, *, retry: bool = True) -> Outcome:
        """Send one delivery at once whatever its schedule (`tocsin send-test`); with `retry=False` a failure is
        dead-lettered instead of scheduled again."""
        async with self.db.turn():
            delivery = self.store.get(delivery_id)
        if delivery is None or delivery.state != "pending":
            return Outcome.permanent(f"delivery {delivery_id} is not pending")
        outcome = await self._deliver(delivery, retry=retry)
        await self._record_finished()
        return outcome

    # -- the loop's work -------------------------------------------------------------------------------------

    async def _cycle(self, *, ignore_wait: bool, record_all: bool = True) -> int:
        """Record finished sends and flush due groups (one commit, on the database thread), then start due
        deliveries; returns how many were started. The reads that choose what to send are quick and stay here."""
        record = record_all or not self._inflight or time.monotonic() - self._last_record >= _RECORD_EVERY_S
        async with self.db.turn():
            # Taken in the turn: a cancellation while waiting for it leaves the outcomes for close() to record.
            batch = self._take_finished() if record else []
            now = self.clock.now()
            if batch or self.store.due_groups(now, ignore_wait=ignore_wait):
                await self._write_or_keep(batch, now, flush_groups=True, ignore_wait=ignore_wait)
            if batch:
                self._update_gauges()
            started = self._start_due(now)
            if time.monotonic() - self._last_housekeeping >= _HOUSEKEEPING_EVERY_S:
                self._last_housekeeping = time.monotonic()
                await self.db.run(self._housekeeping)
        return started

    def _start_due(self, now: datetime) -> int:
        started = 0
        busy = {*self._inflight, *(delivery.id for delivery, _, _ in self._finished)}
        for receiver in self.store.due_receivers(now):
            free = min(self.config.concurrency - len(self._inflight),
                       self.config.per_receiver - self._inflight_to[receiver])
            if free <= 0 or self._paused_until.get(receiver, now) > now:
                continue
            for delivery in self.store.due(now, receiver, free, skip=busy):
                self._inflight[delivery.id] = asyncio.create_task(
                    self._deliver(delivery), name=f"deliver-{delivery.id}"
                )
                self._inflight_to[receiver] += 1
                started += 1
        return started

    def _seconds_until_due(self) -> float:
        """How long the loop may sleep: until the next group or delivery falls due, or a paused receiver may be
        tried again. Something due now that was not started is in flight (its completion wakes the loop) or
        waits for its receiver's pause to end."""
        now = self.clock.now()
        candidates = [when for when in self._paused_until.values() if when > now]
        due = self.store.next_wake()
        if due is not None and due > now:
            candidates.append(due)
        if not candidates:
            return _IDLE_POLL_S
        return min((min(candidates) - now).total_seconds(), _IDLE_POLL_S)

    def _housekeeping(self) -> None:
        with self.db.transaction():
            dropped = self.store.prune(self.clock.now() - self.config.keep)
        if dropped:
            log.info("outbox: forgot %d finished deliveries older than %s", dropped, format_duration(self.config.keep))
        self._update_gauges()

    def _update_gauges(self) -> None:
        if time.monotonic() - self._last_gauges < _GAUGES_EVERY_S:
            return
        self._last_gauges = time.monotonic()
        metrics.outbox_depth.set(self.pending())
        metrics.dead_letters.set(self.dead())

    async def _deliver(self, delivery: Delivery, *, retry: bool = True) -> Outcome:
        try:
            sender = self._sender(delivery.receiver)
            alerts = self.store.alerts(delivery.alert_ids)
            if isinstance(sender, str):
                outcome = Outcome.retry(sender)
            elif not alerts:
                outcome = Outcome.permanent("its alerts are no longer stored")
            else:
                try:
                    outcome = await sender.send(alerts)
                except Exception as exc:
                    # A bug in one receiver kind must not stop every delivery; the alert waits for a fix.
                    log.exception("receiver %s: unexpected error sending delivery %d", delivery.receiver, delivery.id)
                    outcome = Outcome.retry(f"internal error: {type(exc).__name__}")
            self._finished.append((delivery, outcome, retry))
            return outcome
        finally:
            if self._inflight.pop(delivery.id, None) is not None:
                self._inflight_to[delivery.receiver] -= 1
            self.wakeup.set()

    def _sender(self, name: str) -> Sender | str:
        """The receiver's sender, built once per configuration; a string says why there is none."""
        # The receivers (and httpx, aiosmtplib under them) are imported at the first delivery, not at start-up:
        # a `run --once` with nothing to send never needs them.
        from tocsin.deliver.registry import build_sender

        if name not in self._senders:
            receiver = self.config.receiver(name)
            if receiver is None:
                self._senders[name] = f'receiver "{name}" is no longer configured'
            else:
                try:
                    self._senders[name] = build_sender(receiver, self._http_client, self.clock,
                                                         self.store.superseded)
                except ConfigError as exc:
                    log.error("receiver %s cannot be used: %s", name, exc)
                    self._senders[name] = str(exc)
        return self._senders[name]

    def _http_client(self, ca_file: Path | None) -> httpx.AsyncClient:
        import httpx

        from tocsin.deliver.credentials import tls_context
        from tocsin.fetch.transport import LeanTransport

        if ca_file not in self._http:
            verify = tls_context(ca_file)
            # The lean transport, as for feeds: half the CPU per POST of httpx's own. Proxies from the
            # environment (HTTPS_PROXY, ...) still get httpx's transport for the URLs they cover.
            self._http[ca_file] = httpx.AsyncClient(
                verify=verify, follow_redirects=False,
                transport=LeanTransport(ssl_context=verify, idle_per_origin=_IDLE_CONNECTIONS,
                                        max_idle=_IDLE_CONNECTIONS * 4),
            )
        return self._http[ca_file]

    async def _record_finished(self) -> None:
        async with self.db.turn():
            batch = self._take_finished()
            if batch:
                await self._write_or_keep(batch, self.clock.now(), flush_groups=False)
                self._update_gauges()

    async def _write_or_keep(self, batch: list[tuple[Delivery, Outcome, bool]], now: datetime, *,
                             flush_groups: bool, ignore_wait: bool = False) -> None:
        """`_write` on the database thread; when the store fails (a full disk), the outcomes are kept for the next
        try, so a delivery that went through is not sent again once the store writes."""
        try:
            await self.db.run(self._write, batch, now, flush_groups=flush_groups, ignore_wait=ignore_wait)
        except database_errors():
            self._finished[:0] = batch
            raise

    def _take_finished(self) -> list[tuple[Delivery, Outcome, bool]]:
        batch, self._finished = self._finished, []
        if batch:
            self._last_record = time.monotonic()
        return batch

    def _write(self, batch: list[tuple[Delivery, Outcome, bool]], now: datetime, *, flush_groups: bool,
               ignore_wait: bool = False) -> None:
        """On the database thread, in one commit: the outcomes of finished sends, and the groups due now."""
        with self.db.transaction():
            for delivery, outcome, retry in batch:
                self._record(delivery, outcome, now, retry=retry)
            if flush_groups:
                self.grouper.flush_due(now, ignore_wait=ignore_wait)

    def _record(self, delivery: Delivery, outcome: Outcome, now: datetime, *, retry: bool) -> None:
        first = delivery.alert_ids[0] if delivery.alert_ids else "-"
        if outcome.status == "delivered":
            self.store.mark_delivered(delivery.id, now)
            if outcome.send_again_at is not None:
                self.store.add_delivery(delivery.receiver, delivery.alert_ids, now, outcome.send_again_at)
            metrics.deliveries.labels(receiver=delivery.receiver, outcome="delivered").inc()
            log.debug("delivered %d (%s) to %s", delivery.id, first, delivery.receiver)
            recovered = self.receiver_health.delivered(delivery.receiver, now)
            if recovered:
                log.info("%s", recovered, extra={"receiver": delivery.receiver})
            return
        expires = delivery.created_at + self.config.max_age
        if outcome.status == "retry" and retry and now < expires:
            wait = self._backoff.delay(delivery.attempts + 1, outcome.retry_after)
            next_attempt = min(now + wait, expires)
            pause = outcome.retry_after or self.config.retry.base
            self._paused_until[delivery.receiver] = max(self._paused_until.get(delivery.receiver, now), now + pause)
            self.store.mark_retry(delivery.id, next_attempt, outcome.reason)
            metrics.deliveries.labels(receiver=delivery.receiver, outcome="retry").inc()
            log.debug("delivery %d (%s) to %s failed, retry in %s: %s", delivery.id, first,
                      delivery.receiver, format_duration(next_attempt - now), outcome.reason)
            line = (self.receiver_health.failed(delivery.receiver, outcome.reason, now)
                    or self.receiver_health.summary(delivery.receiver, now))
            if line:
                log.warning("%s", line, extra={"receiver": delivery.receiver})
            return
        reason = outcome.reason
        if outcome.status == "retry" and retry:
            reason += f" (still failing {format_duration(self.config.max_age)} after it was queued)"
        self.store.mark_dead(delivery.id, now, reason)
        metrics.deliveries.labels(receiver=delivery.receiver, outcome="dead").inc()
        log.error("delivery %d (%s) to %s is dead: %s; `tocsin alerts retry %d` requeues it", delivery.id,
                  first, delivery.receiver, reason, delivery.id)
