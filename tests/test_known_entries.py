"""A changed body's entries that the last ingest took in are passed over by parsing, without changing what is new
or how long seen items are remembered."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path

from tests.servers.feed_server import FeedItem, FeedServer
from tests.test_poll import RecordingRules, make_settings
from tocsin.clock import SimulatedClock
from tocsin.items import Item
from tocsin.matching.model import Match
from tocsin.rulebook import RuleBook
from tocsin.runtime.service import PollOutcome, Service


class FailingOnce(RecordingRules):
    """Fails the first item it is asked about, as a bug in a rule would: that ingest is rolled back."""

    def match(self, item: Item) -> list[Match]:
        if not self.items:
            self.items.append(item)
            raise RuntimeError("rule bug")
        return super().match(item)


def seen_stamps(service: Service) -> list[int]:
    return sorted(int(row[0]) for row in service.db.reader.execute("SELECT seen_at FROM seen_items"))


async def started(tmp_path: Path, server: FeedServer, rules: RecordingRules, clock: SimulatedClock) -> Service:
    settings = make_settings(tmp_path / "state", [{"name": "a", "url": server.url("/feed/a")}])
    service = Service(settings, RuleBook(rules), clock=clock, parse_in_processes=False)
    await service.start()
    return service


async def test_known_entries_are_checked_against_the_seen_store_again_after_an_hour(
        tmp_path: Path, server: FeedServer) -> None:
    clock = SimulatedClock(datetime.now(UTC).replace(microsecond=0))
    rules = RecordingRules()
    server.add_feed("a", 3)
    service = await started(tmp_path, server, rules, clock)
    try:
        await service.run_once()  # the first fetch records the three silently
        first = seen_stamps(service)
        clock.advance(timedelta(minutes=50))
        server.add_items("a", 1)
        assert await service.run_once() == {"a": PollOutcome.CHANGED}
        assert [item.title for item in rules.items] == ["a item 3"]
        clock.advance(timedelta(minutes=20))
        server.add_items("a", 1)
        await service.run_once()
        assert [item.title for item in rules.items] == ["a item 3", "a item 4"]
        # 70 minutes after the first fetch every entry went through the seen store again: the old ones' records
        # are re-stamped, so they stay remembered as long as they stay in the feed.
        assert min(seen_stamps(service)) > max(first)
    finally:
        await service.stop(1)


async def test_entries_of_an_ingest_that_failed_are_not_known(tmp_path: Path, server: FeedServer) -> None:
    clock = SimulatedClock(datetime.now(UTC).replace(microsecond=0))
    rules = FailingOnce()
    server.add_feed("a", 2)
    service = await started(tmp_path, server, rules, clock)
    try:
        await service.run_once()
        server.add_items("a", 1)
        assert await service.run_once() == {"a": PollOutcome.ERROR}
        clock.advance(timedelta(minutes=10))
        assert await service.run_once() == {"a": PollOutcome.CHANGED}
        assert [item.title for item in rules.items] == ["a item 2", "a item 2"]
    finally:
        await service.stop(1)


async def run_polls(tmp_path: Path, server: FeedServer, changes: list[Callable[[], None]]) -> list[str]:
    """A poll after each change to feed "a" (five simulated minutes apart); the titles the rules were given."""
    clock = SimulatedClock(datetime.now(UTC).replace(microsecond=0))
    rules = RecordingRules()
    service = await started(tmp_path, server, rules, clock)
    try:
        for change in changes:
            change()
            server.feeds["a"].modified += 60
            await service.run_once()
            clock.advance(timedelta(minutes=5))
    finally:
        await service.stop(1)
    return [item.title for item in rules.items]


async def test_an_entry_too_old_to_be_taken_in_is_new_once_redated(tmp_path: Path, server: FeedServer) -> None:
    server.add_feed("a", 1)
    late = FeedItem(guid="x", title="x title", link="http://example.org/x", description="d",
                    pub_date=formatdate(time.time() - 90 * 86400, usegmt=True))

    def redate() -> None:
        late.pub_date = formatdate(time.time(), usegmt=True)

    titles = await run_polls(tmp_path, server, [lambda: None, lambda: server.feeds["a"].items.append(late), redate])
    assert titles == ["x title"]


async def test_an_entry_that_was_no_item_is_new_once_it_has_a_title(tmp_path: Path, server: FeedServer) -> None:
    server.add_feed("a", 1)
    placeholder = FeedItem(guid="x", title="", link="", description="")

    def fill() -> None:
        placeholder.title = "x title"

    titles = await run_polls(tmp_path, server, [lambda: None, lambda: server.feeds["a"].items.append(placeholder),
                                                fill])
    assert titles == ["x title"]
