"""The database thread: heavy work runs off the event loop, and the loop never shares the connection with it.

No timings are asserted: a job on the thread waits for something only the event loop can do (a timer firing, a
reload being attempted), so the test fails (after a bounded wait) exactly when the loop would have been blocked.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.servers.feed_server import FeedServer
from tests.test_poll import make_settings
from tocsin.deliver.worker import Wakeup
from tocsin.errors import StoreError
from tocsin.items import Item
from tocsin.matching.model import Match
from tocsin.rulebook import RuleBook
from tocsin.runtime.service import PollOutcome, Service
from tocsin.store import Database, open_database

BOUND_S = 10.0
"""How long a job waits for the event loop before the test counts it as blocked."""


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "state.sqlite3")
    database.connection.execute("CREATE TABLE notes (text TEXT)")
    yield database
    database.close()


async def until(condition: Callable[[], bool]) -> None:
    for _ in range(int(BOUND_S / 0.01)):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached in time")


def note_then_wait(db: Database, entered: threading.Event, release: threading.Event) -> None:
    with db.transaction() as connection:
        connection.execute("INSERT INTO notes VALUES ('from the thread')")
        entered.set()
        assert release.wait(BOUND_S)


async def test_the_loop_cannot_use_the_connection_while_a_job_holds_it(db: Database) -> None:
    entered, release = threading.Event(), threading.Event()
    job = asyncio.create_task(db.run(note_then_wait, db, entered, release))
    await until(entered.is_set)
    with pytest.raises(StoreError, match="database thread"), db.transaction():
        pass
    with pytest.raises(StoreError, match="database thread"):
        db.connection.execute("SELECT 1")
    # The reader sees only what was committed, and never waits for the job.
    assert db.reader.execute("SELECT count(*) FROM notes").fetchone()[0] == 0

    seen_in_turn: list[tuple[int, bool]] = []

    async def loop_side_writer() -> None:
        async with db.turn():
            connection = db.connection
            seen_in_turn.append((connection.execute("SELECT count(*) FROM notes").fetchone()[0],
                                 connection.in_transaction))
            with db.transaction():
                connection.execute("INSERT INTO notes VALUES ('from the loop')")

    writer = asyncio.create_task(loop_side_writer())
    await asyncio.sleep(0.05)
    assert not writer.done()  # waits for its turn: the job's transaction is still open
    release.set()
    await asyncio.gather(job, writer)
    assert seen_in_turn == [(1, False)]  # its turn came after the job had committed
    assert db.connection.execute("SELECT count(*) FROM notes").fetchone()[0] == 2


async def test_a_cancelled_caller_keeps_the_turn_until_its_job_has_finished(db: Database) -> None:
    entered, release = threading.Event(), threading.Event()
    job = asyncio.create_task(db.run(note_then_wait, db, entered, release))
    await until(entered.is_set)
    job.cancel()
    turn_taken = asyncio.Event()

    async def next_user() -> None:
        async with db.turn():
            turn_taken.set()

    other = asyncio.create_task(next_user())
    await asyncio.sleep(0.05)
    assert not job.done() and not turn_taken.is_set()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await job
    await other
    # The job ran to its commit although its caller was cancelled.
    assert db.connection.execute("SELECT count(*) FROM notes").fetchone()[0] == 1


async def test_an_alert_queued_on_the_database_thread_wakes_the_delivery_worker(db: Database) -> None:
    wakeup = Wakeup()
    waiting = asyncio.create_task(wakeup.wait())
    await asyncio.sleep(0)
    woken = threading.Event()

    def queue_then_wait() -> bool:
        # As Router.enqueue inside an ingest: the job is still running when the worker must wake. The pause lets
        # the loop fall asleep first, which only a thread-safe wake-up interrupts.
        time.sleep(0.05)
        wakeup.set()
        return woken.wait(BOUND_S)

    job = asyncio.create_task(db.run(queue_then_wait))
    await waiting
    woken.set()
    assert await job  # the waiting worker woke while the job was still running


class LoopCheckingRules:
    """Rules whose matching, on the database thread, waits until the event loop has run a 5 ms timer that was
    started after matching began: the loop was free while the ingest ran."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.loop_was_free: list[bool] = []

    def __len__(self) -> int:
        return 0

    def match(self, item: Item) -> list[Match]:
        fired = threading.Event()
        self.loop.call_soon_threadsafe(self.loop.call_later, 0.005, fired.set)
        self.loop_was_free.append(fired.wait(BOUND_S))
        return []


async def test_the_event_loop_runs_timers_while_an_ingest_runs(server: FeedServer, tmp_path: Path) -> None:
    server.add_feed("a", 3)
    rules = LoopCheckingRules(asyncio.get_running_loop())
    settings = make_settings(tmp_path, [{"name": "a", "url": server.url("/feed/a"), "backfill": True}])
    service = Service(settings, RuleBook(rules), parse_in_processes=False)
    await service.start()
    try:
        assert await service.run_once() == {"a": PollOutcome.CHANGED}
    finally:
        await service.stop(1)
    assert rules.loop_was_free == [True, True, True]


class GatedRules:
    """Rules whose first match holds the ingest on the database thread until the test releases it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def __len__(self) -> int:
        return 0

    def match(self, item: Item) -> list[Match]:
        self.entered.set()
        assert self.release.wait(BOUND_S)
        return []


async def test_a_reload_waits_for_the_ingest_in_progress(server: FeedServer, tmp_path: Path) -> None:
    server.add_feed("a", 2)
    gated = GatedRules()
    old_rules = RuleBook(gated)
    settings = make_settings(tmp_path, [{"name": "a", "url": server.url("/feed/a"), "backfill": True}])
    service = Service(settings, old_rules, parse_in_processes=False)
    await service.start()
    try:
        cycle = asyncio.create_task(service.run_once())
        await until(gated.entered.is_set)
        new_rules = RuleBook(GatedRules())
        reload = asyncio.create_task(service.apply(settings, new_rules))
        await asyncio.sleep(0.05)
        assert not reload.done() and service.pipeline.rules is old_rules
        gated.release.set()
        await reload
        assert service.pipeline.rules is new_rules
        assert await cycle == {"a": PollOutcome.CHANGED}
        state = service.states.get("a")
        assert state is not None and state.items_total == 2
    finally:
        gated.release.set()
        await service.stop(1)


async def test_stop_during_an_ingest_lets_it_commit_then_closes(server: FeedServer, tmp_path: Path) -> None:
    server.add_feed("a", 2)
    gated = GatedRules()
    settings = make_settings(tmp_path, [{"name": "a", "url": server.url("/feed/a"), "backfill": True}])
    service = Service(settings, RuleBook(gated), parse_in_processes=False)
    await service.start()
    cycle = asyncio.create_task(service.run_once())
    await until(gated.entered.is_set)
    stopping = asyncio.create_task(service.stop(1))
    await asyncio.sleep(0.05)
    assert not stopping.done()
    gated.release.set()
    await stopping
    await asyncio.gather(cycle, return_exceptions=True)
    reopened = open_database(settings.database_path)
    try:
        row = reopened.connection.execute("SELECT items_total FROM feed_state WHERE name = 'a'").fetchone()
        assert row[0] == 2  # the ingest that was running when stop began committed, with the feed's state
    finally:
        reopened.close()


async def test_polls_waiting_for_the_database_thread_are_bounded(server: FeedServer, tmp_path: Path) -> None:
    names = [f"f{index}" for index in range(6)]
    for name in names:
        server.add_feed(name, 1)
    gated = GatedRules()
    feeds = [{"name": name, "url": server.url(f"/feed/{name}"), "backfill": True} for name in names]
    # One request in flight: two polls in progress at most, the one ingesting and one parsed, waiting for it.
    settings = make_settings(tmp_path, feeds, http={"concurrency": 1})
    service = Service(settings, RuleBook(gated), parse_in_processes=False)
    await service.start()
    try:
        cycle = asyncio.create_task(service.run_once())
        await until(gated.entered.is_set)

        def requests() -> int:
            return sum(len(server.requests_to(f"/feed/{name}")) for name in names)

        await until(lambda: requests() == 2)
        await asyncio.sleep(0.1)  # the loop is free: without the bound it would fetch every other feed meanwhile
        assert requests() == 2
        gated.release.set()
        assert set((await cycle).values()) == {PollOutcome.CHANGED}
    finally:
        gated.release.set()
        await service.stop(1)
