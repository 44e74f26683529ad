"""`tocsin send-test RECEIVER`: send a `test` alert through the real path (outbox, sender, outcome recorded) and
say what happened; exit 1 when it was not delivered, leaving nothing in the outbox (a delivered test stays in the
history that `tocsin alerts --recent` shows)."""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta

from tocsin.alerts import Alert
from tocsin.cli.common import EX_CONFIG, EX_FAILURE, EX_OK, add_config_argument, print_problems
from tocsin.clock import SystemClock
from tocsin.config import Settings, load_config
from tocsin.deliver.base import Outcome
from tocsin.deliver.worker import DeliveryWorker
from tocsin.errors import ConfigError, StoreError
from tocsin.store.backend import open_store
from tocsin.store.outbox import OutboxStore

_HIDDEN_FROM_DAEMON = timedelta(hours=1)
"""The test delivery is queued this far in the future, so a running daemon does not send it a second time."""


def register(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("receiver", metavar="RECEIVER", help="a receiver name from [[delivery.receivers]]")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    try:
        settings = load_config(args.config)
    except ConfigError as exc:
        print_problems(exc.problems)
        return EX_CONFIG
    if settings.delivery.receiver(args.receiver) is None:
        known = ", ".join(r.name for r in settings.delivery.receivers) or "none configured"
        print_problems([f'send-test: no receiver named "{args.receiver}" (known: {known})'])
        return EX_FAILURE
    started = time.monotonic()
    try:
        alert, outcome = asyncio.run(_send(settings, args.receiver))
    except StoreError as exc:
        print_problems([str(exc)])
        return EX_FAILURE
    elapsed = time.monotonic() - started
    if outcome.status == "delivered":
        print(f"test alert {alert.id} delivered to {args.receiver} in {elapsed:.2f}s")
        return EX_OK
    kind = "refused" if outcome.status == "permanent" else "failed"
    print_problems([f"test alert {alert.id} to {args.receiver} {kind}: {outcome.reason}"])
    return EX_FAILURE


async def _send(settings: Settings, receiver: str) -> tuple[Alert, Outcome]:
    db = open_store(settings)
    clock = SystemClock()
    worker = DeliveryWorker(db, settings.delivery, clock)
    try:
        now = clock.now()
        alert = Alert.test(receiver, now)
        store = OutboxStore(db)
        with db.transaction():
            store.save_alert(alert)
            delivery_id = store.add_delivery(receiver, [alert.id], now, first_attempt_at=now + _HIDDEN_FROM_DAEMON)
        outcome = await worker.deliver_now(delivery_id, retry=False)
        if outcome.status != "delivered":
            # Not retried and not left as a dead letter: /healthz and `alerts --dead` count real alerts only.
            # Fix the receiver and run send-test again.
            with db.transaction():
                store.discard(delivery_id, alert.id)
        return alert, outcome
    finally:
        await worker.close()
        db.close()
