"""Deliveries per second through the durable outbox to a local webhook receiver (in its own process).

Each alert is decided in its own transaction (as the pipeline does) with synchronous=FULL, routed, written to the
outbox, signed (Standard Webhooks), POSTed and marked delivered, while the worker runs as in the daemon.
Target: at least 500 deliveries/s.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import Result, median_result, standalone
from benchmarks.measure import REPO
from tocsin.alerts import Alert, AlertItem
from tocsin.clock import SystemClock
from tocsin.config.delivery import DeliveryConfig
from tocsin.deliver.worker import DeliveryWorker
from tocsin.severity import Severity
from tocsin.store import open_database

NAME = "outbox"
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def alert(n: int, clock: SystemClock) -> Alert:
    return Alert(
        id=Alert.make_id("bench", str(n)), kind="match", severity=Severity.HIGH,
        title=f"Shootdown — helicopter, Idlib ({n})",
        summary="A Syrian army helicopter was shot down over Idlib province, a war monitor said. " * 4,
        created=clock.now(), rule="shootdown-aircraft", tags=("shootdown",), places=("Idlib",),
        items=(AlertItem(title=f"Helicopter downed in Idlib ({n})", link=f"https://news.example.org/{n}",
                         feed="example-world", published=clock.now()),),
    )


async def one_run(url: str, state: Path, count: int) -> tuple[float, float, float]:
    """(deliveries/s end to end, decisions/s committed, CPU ms of this process per delivery) for `count` alerts."""
    config = DeliveryConfig.model_validate({
        "receivers": [{"name": "hook", "kind": "webhook", "url": url, "secret": {"value": SECRET}}],
        "default": {"receivers": ["hook"]},
        "grouping": {"group_wait": "0s", "group_interval": "0s"},
    })
    db = open_database(state / "tocsin.sqlite3", synchronous="full")
    clock = SystemClock()
    worker = DeliveryWorker(db, config, clock)
    router = worker.router
    delivering = asyncio.create_task(worker.run())
    started = time.perf_counter()
    cpu_started = time.process_time()
    for n in range(count):
        # As the daemon decides alerts: on the database thread, one transaction per decision.
        await db.run(router.enqueue, [alert(n, clock)])
    decided_s = time.perf_counter() - started
    for _ in range(24_000):  # at most 120 s
        if worker.store.count("delivered") >= count:
            break
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    cpu_ms = (time.process_time() - cpu_started) * 1000 / count
    delivered = worker.store.count("delivered")
    delivering.cancel()
    await asyncio.gather(delivering, return_exceptions=True)
    await worker.close()
    db.close()
    if delivered < count:
        raise RuntimeError(f"only {delivered} of {count} alerts were delivered within 120 s")
    return count / elapsed, count / decided_s, cpu_ms


def bare_commits(state: Path, count: int = 500) -> float:
    """Empty-ish FULL-sync commits per second on the same disk: the ceiling for one decision per transaction."""
    db = open_database(state / "baseline.sqlite3", synchronous="full")
    db.connection.execute("CREATE TABLE baseline (n INTEGER)")
    started = time.perf_counter()
    for n in range(count):
        with db.transaction():
            db.connection.execute("INSERT INTO baseline VALUES (?)", (n,))
    rate = count / (time.perf_counter() - started)
    db.close()
    return rate


def run(quick: bool) -> list[Result]:
    count, runs = (300, 1) if quick else (2000, 3)
    receiver = subprocess.Popen([sys.executable, "-m", "tests.servers.webhook_receiver"], cwd=REPO,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout is not None
        url = f"http://127.0.0.1:{int(receiver.stdout.readline())}/hook"
        rates, decisions, commits, cpu = [], [], [], []
        for _ in range(runs):
            with tempfile.TemporaryDirectory(prefix="tocsin-bench-outbox-") as scratch:
                commits.append(bare_commits(Path(scratch)))
                delivered, decided, cpu_ms = asyncio.run(one_run(url, Path(scratch), count))
            rates.append(delivered)
            decisions.append(decided)
            cpu.append(cpu_ms)
    finally:
        if receiver.stdin is not None:
            receiver.stdin.close()
        receiver.wait(timeout=10)
    return [
        median_result(NAME, f"deliveries, 1 alert/transaction, FULL sync ({count})", rates, "/s", ">= 500"),
        median_result(NAME, "alerts decided and queued, FULL sync", decisions, "/s"),
        median_result(NAME, "CPU per delivery (decide, queue, sign, POST, record)", cpu, "ms"),
        median_result(NAME, "bare SQLite commits, FULL sync (disk ceiling)", commits, "/s"),
    ]


if __name__ == "__main__":
    standalone(run)
