"""Reloading configuration and rules while running: on SIGHUP, and on rule-file changes when `rules.watch` is on.

A reload is all or nothing: the new config and rules are loaded and validated off the event loop, and only when
both are valid are they handed to the service at once. Invalid ones are logged (every problem, at error priority)
and the daemon keeps running with what it had; systemd's STATUS says the reload failed until one succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

from tocsin import metrics
from tocsin.config import Settings
from tocsin.errors import ConfigError
from tocsin.rulebook import RuleBook
from tocsin.rulefiles import rule_files as files_to_load
from tocsin.runtime.systemd import Notifier

log = logging.getLogger(__name__)

Loader = Callable[[], tuple[Settings, RuleBook]]
Applier = Callable[[Settings, RuleBook], Awaitable[None] | None]
Snapshot = dict[Path, tuple[int, int] | None]

RULE_WATCH_INTERVAL_S = 2.0


def rule_files(paths: Iterable[Path]) -> Snapshot:
    """(mtime_ns, size) of every file the rule loader reads from `paths` (the same list, so a file the loader
    ignores never triggers a reload); None for a configured path that does not exist, so its creation counts as
    a change."""
    configured = list(paths)
    files, _ = files_to_load(configured)
    snapshot: Snapshot = {file: _stamp(file) for file in files}
    snapshot.update((path, None) for path in configured if not path.exists())
    return snapshot


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = path.stat()
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


class RuleWatcher:
    """Polls rule-file modification times (no inotify dependency; a few stat calls every couple of seconds)."""

    def __init__(self, on_change: Callable[[str], None], interval_s: float = RULE_WATCH_INTERVAL_S) -> None:
        self.on_change = on_change
        self.interval_s = interval_s
        self._paths: tuple[Path, ...] = ()
        self._baseline: Snapshot = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def configure(self, paths: Iterable[Path], enabled: bool) -> None:
        """Watch these paths (or stop watching); called at start and after every successful reload."""
        paths = tuple(paths)
        if paths != self._paths or not self.running:
            # The baseline is taken now, not when the task first runs: an edit right after start must count.
            self._paths, self._baseline = paths, rule_files(paths)
        if enabled and not self.running:
            self._task = asyncio.create_task(self._watch(), name="rule-watcher")
        elif not enabled and self._task is not None:
            self._task.cancel()
            self._task = None

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            # Paths replaced by a reload come with their own baseline, so new paths are not themselves a change.
            before, now = self._baseline, rule_files(self._paths)
            if now != before:
                changed = sorted(str(path) for path in now.keys() | before.keys() if now.get(path) != before.get(path))
                self._baseline = now
                self.on_change("rule files changed: " + ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else ""))


class Reloader:
    """Serialises reload requests (signals and the watcher) and performs them one at a time.

    Requests that arrive during a reload are coalesced into one more reload afterwards, so a burst of saves or
    SIGHUPs never queues a burst of reloads, and no change is missed.
    """

    def __init__(self, load: Loader, apply: Applier, notifier: Notifier, ready_status: Callable[[], str]) -> None:
        self.load = load
        self.apply = apply
        self.notifier = notifier
        self.ready_status = ready_status
        self.watcher = RuleWatcher(self.request)
        self.last_failure: str | None = None
        """Why the last reload failed, until a reload succeeds (shown in systemd's STATUS)."""
        self._failed_with: list[str] = []
        """The problems of the last reload when it failed: the same ones again are not logged again."""
        self._pending = asyncio.Event()
        self._reasons: list[str] = []
        self._task: asyncio.Task[None] | None = None
        self._signal_installed = False

    def start(self, settings: Settings) -> None:
        """Handle SIGHUP and watch the rule files of the running settings."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGHUP, self.request, "SIGHUP")
        self._signal_installed = True
        self._task = asyncio.create_task(self._serve(), name="reloader")
        self.watcher.configure(settings.rule_paths, settings.rules.watch)

    async def stop(self) -> None:
        if self._signal_installed:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGHUP)
            self._signal_installed = False
        await self.watcher.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def request(self, reason: str) -> None:
        self._reasons.append(reason)
        self._pending.set()

    async def _serve(self) -> None:
        while True:
            await self._pending.wait()
            self._pending.clear()
            reasons, self._reasons = self._reasons, []
            await self.reload("; ".join(dict.fromkeys(reasons)))

    async def reload(self, reason: str) -> bool:
        """Load, validate and apply; True when the new configuration and rules are in effect."""
        log.info("reloading configuration and rules (%s)", reason)
        self.notifier.reloading(f"reloading ({reason})")
        try:
            # Reading files and compiling thousands of rules must not stall polls, deliveries or watchdog pings.
            settings, rules = await asyncio.to_thread(self.load)
            applied = self.apply(settings, rules)
            if inspect.isawaitable(applied):
                await applied
        except ConfigError as exc:
            self._fail(exc.problems)
            return False
        except Exception as exc:
            log.exception("reload failed unexpectedly; keeping the previous configuration and rules")
            self._fail([f"unexpected error: {exc}"])
            return False
        self.last_failure = None
        self._failed_with = []
        self.watcher.configure(settings.rule_paths, settings.rules.watch)
        metrics.reloads.labels(outcome="success").inc()
        log.info("reload complete: %s, %d feed(s) enabled", rules.describe(),
                 sum(1 for feed in settings.feeds if feed.enabled))
        self.notifier.ready(self.ready_status())
        return True

    def _fail(self, problems: list[str]) -> None:
        if problems == self._failed_with:
            # A SIGHUP or save that leaves the same mistakes: one line, not the same errors again.
            log.warning("reload failed again with the same %d problem(s); still running the previous configuration",
                        len(problems))
        else:
            for problem in problems:
                log.error("reload: %s", problem)
        self._failed_with = problems
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
        first = problems[0] if problems else "unknown error"
        self.last_failure = f"reload failed at {when} ({len(problems)} problem(s), first: {first}); running with " \
                            "the previous configuration"
        metrics.reloads.labels(outcome="failure").inc()
        self.notifier.ready(self.ready_status())
