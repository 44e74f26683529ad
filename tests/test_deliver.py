"""The delivery worker as the daemon runs it, the transaction seam with the pipeline, the console receiver."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import pytest

from tests.alert_factory import config, make_alert, setup
from tests.conftest import StoreOpener
from tests.servers.webhook_receiver import WebhookReceiver
from tocsin import metrics
from tocsin.clock import SystemClock
from tocsin.config.delivery import ConsoleReceiver
from tocsin.deliver.base import one_line
from tocsin.deliver.receivers.console import ConsoleSender
from tocsin.deliver.worker import DeliveryWorker
from tocsin.urls import safe_link


def test_a_rolled_back_decision_leaves_nothing_in_the_outbox(open_store: StoreOpener) -> None:
    s = setup(open_store(), config([{"name": "desk", "kind": "console"}], grouping={"group_wait": "30s"}))
    with pytest.raises(RuntimeError), s.db.transaction():
        s.router.enqueue([make_alert(1)])
        raise RuntimeError("the state change that decided the alert failed")
    assert s.worker.store.recent_alerts(10) == []
    assert s.worker.store.waiting_count() == 0
    s.enqueue(make_alert(2))
    assert [alert.id for alert in s.worker.store.recent_alerts(10)] == [make_alert(2).id]
    assert s.worker.store.waiting_count() == 1


async def test_the_running_worker_sends_as_soon_as_an_alert_is_queued(open_store: StoreOpener) -> None:
    with WebhookReceiver() as receiver:
        delivery = config([{"name": "hook", "kind": "webhook", "url": receiver.url}])
        s = setup(open_store(), delivery)
        clock = SystemClock()
        worker = DeliveryWorker(s.db, delivery, clock)
        router = worker.router
        before = metrics.deliveries.labels(receiver="hook", outcome="delivered")._value.get()
        running = asyncio.create_task(worker.run())
        try:
            await asyncio.sleep(0.05)  # the worker is idle, waiting
            with s.db.transaction():
                router.enqueue([make_alert(1), make_alert(2)])
            for _ in range(500):  # bounded: at most 5 s
                if len(receiver.accepted()) == 2 and worker.pending() == 0:
                    break
                await asyncio.sleep(0.01)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)
        assert sorted(r.headers["webhook-id"] for r in receiver.accepted()) == sorted([make_alert(1).id,
                                                                                        make_alert(2).id])
        assert await worker.drain(timeout_s=5) == 0
        assert metrics.deliveries.labels(receiver="hook", outcome="delivered")._value.get() == before + 2
        assert metrics.outbox_depth._value.get() == 0
        await worker.close()


async def test_console_output_cannot_be_steered_by_feed_text() -> None:
    stream = io.StringIO()
    sender = ConsoleSender(ConsoleReceiver(name="c", kind="console"), stream)
    hostile = "Helicopter\x1b[2J\x1b[31m down\r\n── CRITICAL forged line\u202e"
    outcome = await sender.send([make_alert(1, title=hostile)])
    assert outcome.status == "delivered"
    printed = stream.getvalue()
    assert "\x1b" not in printed and "\r" not in printed and "\u202e" not in printed
    assert "Helicopter [2J [31m down ── CRITICAL forged line" in printed
    assert not any(line.startswith("── CRITICAL") for line in printed.splitlines())


def test_text_helpers() -> None:
    assert one_line("a\r\nb\tc  d") == "a b c d"
    assert one_line("x" * 50, 10) == "x" * 9 + "…"
    assert safe_link("https://example.org/a?b=1") == "https://example.org/a?b=1"
    for unsafe in ("javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "//example.org/x",
                   "https://example.org/\r\nBcc: x"):
        assert safe_link(unsafe) is None


async def test_pruning_forgets_finished_work_but_never_what_is_still_owed(open_store: StoreOpener) -> None:
    down = WebhookReceiver()
    s = setup(open_store(), config([{"name": "desk", "kind": "console"},
                                {"name": "hook", "kind": "webhook", "url": down.url}]))
    s.enqueue(make_alert(1))
    await s.worker.drain(timeout_s=10)
    store = s.worker.store
    assert store.counts() == {"pending": 1, "delivered": 1, "dead": 0}
    with s.db.transaction():
        assert store.prune(s.clock.now() + timedelta(days=1)) == 1
    assert store.counts() == {"pending": 1, "delivered": 0, "dead": 0}
    assert [alert.id for alert in store.alerts([make_alert(1).id])] == [make_alert(1).id]
    await s.worker.close()
