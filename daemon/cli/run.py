"""`tocsin run`: poll feeds and send alerts until stopped (SIGTERM/SIGINT), or once with --once."""

from __future__ import annotations

import argparse
import asyncio
import logging
import resource
import signal
from typing import TYPE_CHECKING

from tocsin.cli.common import (
    EX_CONFIG,
    EX_FAILURE,
    EX_OK,
    EX_TEMPFAIL,
    add_config_argument,
    collector_paused,
    load_settings_and_rules,
    print_problems,
)
from tocsin.config import Settings
from tocsin.errors import ConfigError, StoreError
from tocsin.rulebook import RuleBook
from tocsin.runtime.logs import configure_logging
from tocsin.runtime.service import PollOutcome, Service

if TYPE_CHECKING:
    from tocsin.runtime.operations import Operations

log = logging.getLogger("tocsin")

STOP_GRACE_S = 10.0
"""Deliveries in flight get this long after SIGTERM (systemd's default TimeoutStopSec is 90 s)."""
OPEN_FILES_WANTED = 65536


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    add_config_argument(parser)
    parser.add_argument("--once", action="store_true",
                        help="poll every enabled feed once, process everything, deliver, and exit")
    parser.add_argument("--log-format", choices=("text", "json"), help="overrides logging.format")
    parser.add_argument("--log-level", choices=("debug", "info", "warning", "error"), help="overrides logging.level")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    if not args.once:
        # A reload request while starting (SIGHUP's default action is to terminate) must not kill the daemon;
        # the reloader takes SIGHUP over once the service runs.
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with collector_paused(whole_process=getattr(args, "whole_process", False)):
            settings, rules = load_settings_and_rules(args, cached=True)
    except ConfigError as exc:
        print_problems(exc.problems)
        return EX_CONFIG
    configure_logging(settings, level=args.log_level, log_format=args.log_format)
    raise_open_file_limit()
    # Operations (issue 6): systemd notify and watchdog, /healthz and /metrics, reload on SIGHUP and rule changes.
    # A --once run (cron) has none of them, and does not import them: start-up is most of what such a run costs.
    operations = None
    if not args.once:
        from tocsin.runtime.operations import Operations

        operations = Operations(
            settings, lambda: load_settings_and_rules(args, cached=True),
            on_settings=lambda new: configure_logging(new, level=args.log_level, log_format=args.log_format),
        )
    try:
        return asyncio.run(_run(settings, rules, once=args.once, operations=operations))
    except StoreError as exc:
        log.error("%s", exc)
        return EX_FAILURE


def raise_open_file_limit(wanted: int = OPEN_FILES_WANTED) -> None:
    """Lift the soft limit on open files towards the hard one: systemd starts services with 1,024 (hard 524,288),
    and a cycle over feeds on many hosts holds a socket per host besides the database and the parse workers."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (OSError, ValueError) as exc:
            log.warning("cannot raise the open-file limit from %d to %d: %s", soft, target, exc)


async def _run(settings: Settings, rules: RuleBook, *, once: bool, operations: Operations | None = None) -> int:
    service = Service(settings, rules, observer=operations)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, service.request_stop)
    await service.start()
    if operations is not None:
        await operations.start(service)
    status = EX_OK
    try:
        if once:
            outcomes = await service.run_once()
            counts = {outcome.value: list(outcomes.values()).count(outcome) for outcome in PollOutcome}
            status = once_status(counts, service.status().pending_alerts)
        else:
            log.info("tocsin running: %d feed(s) enabled, %s",
                     sum(1 for feed in settings.feeds if feed.enabled), rules.describe())
            await service.run_forever()
            log.info("stopping")
    finally:
        await service.stop(STOP_GRACE_S)
        if operations is not None:
            await operations.stop()
    return status


def once_status(counts: dict[str, int], pending_alerts: int) -> int:
    """EX_TEMPFAIL when the cycle ran but left something undone (a feed failed or is gone, an alert is still
    waiting for a receiver), so cron mails about it; EX_OK when everything went through."""
    failed = sum(counts[outcome.value] for outcome in (PollOutcome.ERROR, PollOutcome.GONE, PollOutcome.NOT_STORED))
    if failed or pending_alerts:
        log.warning("run --once: %d feed(s) failed, %d alert deliver(ies) still pending; exit %d",
                    failed, pending_alerts, EX_TEMPFAIL)
        return EX_TEMPFAIL
    return EX_OK
