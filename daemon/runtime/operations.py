"""Operations around a running Service: systemd notifications and watchdog, the health listener, reloads.

`tocsin run` (not `--once`) attaches one Operations to its Service as the ServiceObserver and starts it after the
Service has opened the store. From then on: READY=1 when polling has begun, STATUS= kept current, WATCHDOG=1 from
the event loop, SIGHUP and rule-file changes reload, STOPPING=1 when shutdown begins.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime

from tocsin.config import Settings
from tocsin.config.model import parse_listen
from tocsin.errors import ConfigError
from tocsin.rulebook import RuleBook
from tocsin.runtime.health import HealthReport, HealthServer
from tocsin.runtime.reload import Loader, Reloader
from tocsin.runtime.service import PollOutcome, Service, ServiceObserver
from tocsin.runtime.systemd import Notifier, run_watchdog, watchdog_interval_s
from tocsin.store.sql import database_errors

log = logging.getLogger(__name__)

STATUS_EVERY_S = 5.0
"""How often STATUS= is refreshed after polls (one status query over all feeds at most this often)."""


class Operations(ServiceObserver):
    def __init__(
        self, settings: Settings, load: Loader, *, notifier: Notifier | None = None,
        on_settings: Callable[[Settings], None] = lambda settings: None,
    ) -> None:
        """`load` reads and validates config and rules again (for reloads); `on_settings` is told about every
        configuration that takes effect (logging follows it)."""
        self.settings = settings
        self.notifier = notifier or Notifier.from_environment()
        self.on_settings = on_settings
        self.reloader = Reloader(load, self._apply, self.notifier, self.status_text)
        self.health: HealthServer | None = None
        self._service: Service | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._health_listen: str | None = None
        self._status_dirty = asyncio.Event()
        self._stopping = False

    @property
    def service(self) -> Service:
        assert self._service is not None, "Operations.start(service) first"
        return self._service

    async def start(self, service: Service) -> None:
        """After Service.start(): listen for health checks and reload requests."""
        self._service = service
        await self._sync_health(self.settings)
        self.reloader.start(self.settings)

    async def stop(self) -> None:
        self._stopping = True
        await self.reloader.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.health is not None:
            await self.health.stop()
            self.health = None
        self.notifier.close()

    # -- ServiceObserver -------------------------------------------------------------------------------------

    def on_started(self, service: Service) -> None:
        self.notifier.ready(self.status_text())
        self._tasks.append(asyncio.create_task(self._keep_status_current(), name="systemd-status"))
        interval_s = watchdog_interval_s()
        if interval_s is not None:
            log.info("pinging the systemd watchdog every %.1fs", interval_s)
            self._tasks.append(asyncio.create_task(
                run_watchdog(self.notifier, interval_s, lambda: self._stopping or service.scheduler_running),
                name="systemd-watchdog",
            ))

    def on_poll(self, service: Service, feed: str, outcome: PollOutcome) -> None:
        self._status_dirty.set()

    def on_stopping(self, service: Service) -> None:
        self._stopping = True
        self.notifier.stopping("stopping: finishing deliveries in flight, closing the state database")

    # -- reload ----------------------------------------------------------------------------------------------

    async def _apply(self, settings: Settings, rules: RuleBook) -> None:
        """All or nothing: a new health address that cannot be bound fails the reload before anything else
        changes, and the old listener keeps serving."""
        if self._stopping:
            log.warning("not applying the reloaded configuration: tocsin is stopping")
            return
        wanted = _health_listen(settings)
        moving = wanted != self._health_listen
        replacement = await self._bind_replacement(wanted) if moving and wanted is not None else None
        try:
            await self.service.apply(settings, rules)
        except BaseException:
            if replacement is not None:
                await replacement.stop()
            if self.health is None and self._health_listen is not None:  # closed to make room: serve again
                await self._sync_health(self.settings)
            raise
        self.settings = settings
        self.on_settings(settings)
        if moving:
            if self.health is not None and self.health is not replacement:
                await self.health.stop()
            self.health, self._health_listen = replacement, wanted

    async def _bind_replacement(self, listen: str) -> HealthServer:
        """A listener on `listen`, bound; raises ConfigError (with the old listener still serving) when it cannot
        be. An address on the old one's fixed port is bound after the old one closes."""
        server = HealthServer(listen, self.health_report)
        try:
            await server.start()
            return server
        except OSError as first:
            old = self._health_listen
            if self.health is None or old is None or not _same_fixed_port(listen, old):
                raise _unbindable(listen, first) from None
        await self.health.stop()
        self.health = None
        try:
            await server.start()
            return server
        except OSError as exc:
            self.health = HealthServer(old, self.health_report)
            await self.health.start()
            raise _unbindable(listen, exc) from None

    async def _sync_health(self, settings: Settings) -> None:
        """At start: listen for health checks as `settings.health` says."""
        wanted = _health_listen(settings)
        if wanted is None:
            return
        server = HealthServer(wanted, self.health_report)
        try:
            await server.start()
        except OSError as exc:
            # Alerts matter more than metrics: keep running, loudly, without the listener.
            log.error("health listener: cannot listen on %s (%s); /healthz and /metrics are unavailable",
                      wanted, exc.strerror or exc)
            return
        self.health = server
        self._health_listen = wanted

    # -- reporting -------------------------------------------------------------------------------------------

    def health_report(self) -> HealthReport:
        service = self.service
        enabled = {feed.name for feed in service.settings.feeds if feed.enabled}
        states = [state for state in service.states.unhealthy() if state.name in enabled]
        return HealthReport(
            scheduler_running=service.scheduler_running,
            feeds_enabled=len(enabled),
            failing_feeds=tuple(state.name for state in states if state.health == "failing"),
            gone_feeds=tuple(state.name for state in states if state.health == "gone"),
            outbox_pending=service.worker.pending(),
            outbox_dead=service.worker.dead(),
            rules_loaded=len(service.rules),
            last_poll_at=service.last_poll_at,
            reload_error=self.reloader.last_failure,
            storage_error=service.db.storage_error,
            instance=service.db.sharing.overview() if service.db.sharing is not None else None,
        )

    def status_text(self) -> str:
        """One line for `systemctl status`: feeds, last poll, pending alerts, and a failed reload if any."""
        if self._service is None:
            return "starting"
        status = self.service.status()
        parts = [f"{status.feeds_enabled} feed(s): {status.feeds_ok} ok, {status.feeds_failing} failing, "
                 f"{status.feeds_gone} gone, {status.feeds_new} not polled yet",
                 f"last poll {_clock(status.last_poll_at)}",
                 f"{status.pending_alerts if status.pending_alerts is not None else '?'} alert(s) pending"]
        for problem in (self.service.db.storage_error, self.reloader.last_failure):
            if problem:
                parts.insert(0, problem)
        return "; ".join(parts)

    async def _keep_status_current(self) -> None:
        while True:
            await self._status_dirty.wait()
            self._status_dirty.clear()
            try:
                text = self.status_text()
            except database_errors() as exc:
                # The store is down for a moment (a PostgreSQL restart): say so; the next status says the rest.
                text = f"state store unreachable: {str(exc).strip().splitlines()[0]}"
            self.notifier.status(text)
            await asyncio.sleep(STATUS_EVERY_S)


def _clock(when: datetime | None) -> str:
    return when.strftime("%H:%M:%SZ") if when else "never"


def _health_listen(settings: Settings) -> str | None:
    return settings.health.listen if settings.health.enabled else None


def _same_fixed_port(listen: str, old: str) -> bool:
    port = parse_listen(listen)[1]
    return port != 0 and port == parse_listen(old)[1]


def _unbindable(listen: str, exc: OSError) -> ConfigError:
    return ConfigError([f"health.listen: cannot listen on {listen} ({exc.strerror or exc})"])
