"""The running poll loop (Service.run_forever): scheduling, reconfiguration without restart, a clean stop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.servers.feed_server import FeedServer
from tests.test_poll import RecordingRules, make_settings
from tocsin.rulebook import RuleBook
from tocsin.runtime.service import PollOutcome, Service, ServiceObserver


class Events(ServiceObserver):
    def __init__(self) -> None:
        self.started = 0
        self.stopping = 0
        self.polls: list[tuple[str, PollOutcome]] = []

    def on_started(self, service: Service) -> None:
        self.started += 1

    def on_poll(self, service: Service, feed: str, outcome: PollOutcome) -> None:
        self.polls.append((feed, outcome))

    def on_stopping(self, service: Service) -> None:
        self.stopping += 1


async def wait_for(condition: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


async def test_poll_loop_picks_up_new_items_and_reconfigures(server: FeedServer, tmp_path: Path) -> None:
    server.add_feed("a", 2)
    server.add_feed("b", 1)
    rules = RecordingRules()
    events = Events()
    settings = make_settings(tmp_path, [{"name": "a", "url": server.url("/feed/a"), "interval": "1s"}])
    service = Service(settings, RuleBook(rules), observer=events, parse_in_processes=False)
    await service.start()
    loop_task = asyncio.create_task(service.run_forever())
    try:
        await wait_for(lambda: ("a", PollOutcome.CHANGED) in events.polls)
        assert events.started == 1
        added = server.add_items("a", 1, prefix="live")
        await wait_for(lambda: len(rules.items) == 1)
        assert rules.items[0].title == added[0].title
        await wait_for(lambda: ("a", PollOutcome.NOT_MODIFIED) in events.polls)

        # Add feed b and drop feed a, without a restart.
        new = make_settings(tmp_path, [{"name": "b", "url": server.url("/feed/b"), "interval": "1s"}])
        await service.apply(new, RuleBook(rules))
        await wait_for(lambda: ("b", PollOutcome.CHANGED) in events.polls)
        requests_to_a = len(server.requests_to("/feed/a"))
        await wait_for(lambda: events.polls.count(("b", PollOutcome.NOT_MODIFIED)) >= 2)
        assert len(server.requests_to("/feed/a")) == requests_to_a
        assert [state.name for state in service.states.all()] == ["b"]
        assert service.status().feeds_enabled == 1
    finally:
        service.request_stop()
        await asyncio.wait_for(loop_task, 5)
        await service.stop(1)
    assert events.stopping == 1


async def test_failing_feed_is_postponed_in_the_live_loop(server: FeedServer, tmp_path: Path) -> None:
    events = Events()
    settings = make_settings(tmp_path, [
        {"name": "limited", "url": server.url("/status/429"), "interval": "1s"},
        {"name": "good", "url": server.url("/feed/good"), "interval": "1s"},
    ])
    server.add_feed("good", 1)
    service = Service(settings, RuleBook(RecordingRules()), observer=events, parse_in_processes=False)
    await service.start()
    loop_task = asyncio.create_task(service.run_forever())
    try:
        await wait_for(lambda: events.polls.count(("good", PollOutcome.NOT_MODIFIED)) >= 2)
        next_run = service._scheduler.next_run("limited")
        assert next_run is not None and next_run >= datetime.now(UTC) + timedelta(seconds=100)
    finally:
        service.request_stop()
        await asyncio.wait_for(loop_task, 5)
        await service.stop(1)
    # The feed polls every second, but its server said Retry-After: 120, so it was asked once.
    assert events.polls.count(("limited", PollOutcome.ERROR)) == 1
    assert service_state_failures(tmp_path, "limited") == 1


def service_state_failures(state_dir: Path, name: str) -> int:
    from tocsin.store import open_database
    from tocsin.store.feeds import FeedStates

    db = open_database(state_dir / "tocsin.sqlite3")
    try:
        state = FeedStates(db).get(name)
        return state.consecutive_failures if state else 0
    finally:
        db.close()


async def test_stop_cancels_a_poll_in_flight(server: FeedServer, tmp_path: Path) -> None:
    server.slow_seconds = 30
    settings = make_settings(
        tmp_path, [{"name": "slow", "url": server.url("/slow")}],
        http={"read_timeout": "60s", "total_timeout": "60s"},
    )
    events = Events()
    service = Service(settings, RuleBook(RecordingRules()), observer=events, parse_in_processes=False)
    await service.start()
    once = asyncio.create_task(service.run_once())
    await wait_for(lambda: len(server.requests_to("/slow")) == 1)
    started = time.monotonic()
    service.request_stop()
    outcomes = await asyncio.wait_for(once, 5)
    await service.stop(1)
    assert outcomes == {}
    assert time.monotonic() - started < 5
    assert events.polls == []
    assert service_state_failures(tmp_path, "slow") == 0


async def test_parsing_in_worker_processes(server: FeedServer, tmp_path: Path) -> None:
    server.add_feed("w", 50)
    rules = RecordingRules()
    settings = make_settings(tmp_path, [{"name": "w", "url": server.url("/feed/w"), "backfill": True}])
    service = Service(settings, RuleBook(rules))
    await service.start()
    try:
        assert await service.run_once() == {"w": PollOutcome.CHANGED}
        assert not service.parser.uses_processes  # a well-formed body is read inline: no pool is started
    finally:
        await service.stop(1)
    assert len(rules.items) == 50
