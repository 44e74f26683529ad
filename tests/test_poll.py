"""One poll cycle (Service.run_once) against the real local feed server, with a real SQLite store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from tests.servers.feed_server import FeedServer
from tocsin.config import Settings
from tocsin.items import Item
from tocsin.matching.model import Match
from tocsin.rulebook import RuleBook
from tocsin.runtime.service import PollOutcome, Service


class RecordingRules:
    """Stands in for a rule set: matches nothing, remembers every item the pipeline passed on to matching."""

    def __init__(self) -> None:
        self.items: list[Item] = []

    def __len__(self) -> int:
        return 0

    def match(self, item: Item) -> list[Match]:
        self.items.append(item)
        return []


def make_settings(state_dir: Path, feeds: list[dict[str, Any]], **sections: dict[str, Any]) -> Settings:
    """Settings for tests: quick timeouts, no jitter; `sections` add to or override those defaults."""
    polling = {"interval": "10m", "jitter": "0s", "backoff_max": "6h", **sections.pop("polling", {})}
    http = {"connect_timeout": "2s", "read_timeout": "500ms", "total_timeout": "5s", "max_body_size": "256KiB",
            **sections.pop("http", {})}
    # Rule files of the repository are not this stage's business: an empty directory keeps the tests about polling.
    rules_dir = state_dir / "no-rules"
    rules_dir.mkdir(parents=True, exist_ok=True)
    sections.setdefault("rules", {"paths": [str(rules_dir)]})
    return Settings(state_dir=state_dir, feeds=feeds, polling=polling, http=http, **sections)


@pytest.fixture
def rules() -> RecordingRules:
    return RecordingRules()


@pytest.fixture
async def service_for(tmp_path: Path, rules: RecordingRules) -> AsyncIterator[Any]:
    started: list[Service] = []

    async def build(feeds: list[dict[str, Any]], **overrides: Any) -> Service:
        service = Service(make_settings(tmp_path / "state", feeds, **overrides), RuleBook(rules),
                          parse_in_processes=False)
        await service.start()
        started.append(service)
        return service

    yield build
    for service in started:
        await service.stop(1)


async def test_first_fetch_is_silent_then_new_items_pass(server: FeedServer, service_for: Any,
                                                         rules: RecordingRules) -> None:
    server.add_feed("a", 5)
    service = await service_for([{"name": "a", "url": server.url("/feed/a"), "tags": ["world"]}])
    assert await service.run_once() == {"a": PollOutcome.CHANGED}
    assert rules.items == []
    state = service.states.get("a")
    assert state.first_fetch_done and state.items_total == 5 and state.etag

    assert await service.run_once() == {"a": PollOutcome.NOT_MODIFIED}
    added = server.add_items("a", 2, prefix="fresh")
    assert await service.run_once() == {"a": PollOutcome.CHANGED}
    assert [item.title for item in rules.items] == [item.title for item in added]
    assert rules.items[0].feed_tags == ("world",)
    assert rules.items[0].link.startswith(server.base)


async def test_a_json_feed_is_polled_like_rss(server: FeedServer, service_for: Any, rules: RecordingRules) -> None:
    feed = server.add_feed("j", 2)
    service = await service_for([{"name": "j", "url": server.url("/jsonfeed/j"), "backfill": True}])
    assert await service.run_once() == {"j": PollOutcome.CHANGED}
    assert [(item.id, item.title, item.link, item.summary, item.language) for item in rules.items] == [
        (entry.guid, entry.title, server.base + entry.link, f"Story {n} & more", "en")
        for n, entry in enumerate(feed.items)
    ]
    assert [item.published for item in rules.items] == [parsedate_to_datetime(e.pub_date) for e in feed.items]
    assert "application/feed+json" in server.requests_to("/jsonfeed/j")[0]["accept"]
    assert await service.run_once() == {"j": PollOutcome.NOT_MODIFIED}
    added = server.add_items("j", 1, prefix="fresh")
    assert await service.run_once() == {"j": PollOutcome.CHANGED}
    assert [item.title for item in rules.items[2:]] == [item.title for item in added]


async def test_backfill_passes_on_the_first_fetch(server: FeedServer, service_for: Any,
                                                  rules: RecordingRules) -> None:
    server.add_feed("b", 3)
    service = await service_for([{"name": "b", "url": server.url("/feed/b"), "backfill": True}])
    await service.run_once()
    assert len(rules.items) == 3


async def test_news_older_than_retention_is_never_new(server: FeedServer, service_for: Any,
                                                     rules: RecordingRules) -> None:
    server.add_feed("old", 2)
    server.feeds["old"].items[0].pub_date = "Sat, 01 Jan 2000 00:00:00 GMT"
    service = await service_for([{"name": "old", "url": server.url("/feed/old"), "backfill": True}])
    await service.run_once()
    assert [item.title for item in rules.items] == ["old item 1"]


async def test_permanent_redirect_is_a_warning_in_feed_health(server: FeedServer, service_for: Any) -> None:
    server.add_feed("m", 1)
    service = await service_for([{"name": "m", "url": server.url("/moved/m")}])
    assert await service.run_once() == {"m": PollOutcome.CHANGED}
    state = service.states.get("m")
    assert state.health == "ok"
    assert state.warning == f"moved permanently to {server.url('/feed/m')}: update its url"


async def test_unchanged_body_is_not_parsed_again(server: FeedServer, service_for: Any) -> None:
    server.add_feed("p", 2)
    service = await service_for([{"name": "p", "url": server.url("/plain/p")}])
    assert await service.run_once() == {"p": PollOutcome.CHANGED}
    assert await service.run_once() == {"p": PollOutcome.UNCHANGED}
    assert "if-none-match" not in server.requests_to("/plain/p")[-1]


async def test_same_article_in_two_feeds_passes_once(server: FeedServer, service_for: Any,
                                                     rules: RecordingRules) -> None:
    server.add_feed("s", 1)
    service = await service_for([
        {"name": "one", "url": server.url("/feed/s")}, {"name": "two", "url": server.url("/gzip/s")},
    ])
    await service.run_once()
    server.add_items("s", 1, prefix="shared")
    await service.run_once()
    assert len(rules.items) == 1


async def test_every_failure_is_recorded_and_the_rest_still_work(
    server: FeedServer, service_for: Any, rules: RecordingRules
) -> None:
    server.add_feed("ok", 1)
    broken = {
        "e500": "/status/500", "e429": "/status/429", "slow": "/slow", "big": "/big", "loop": "/loop",
        "html": "/html", "bomb": "/bomb", "bomb16": "/bomb-utf16", "json": "/json", "empty": "/empty",
    }
    feeds = [{"name": "ok", "url": server.url("/feed/ok"), "backfill": True}]
    feeds += [{"name": name, "url": server.url(path)} for name, path in broken.items()]
    service = await service_for(feeds)
    before = datetime.now(UTC)
    outcomes = await service.run_once()
    assert outcomes == {"ok": PollOutcome.CHANGED, **dict.fromkeys(broken, PollOutcome.ERROR)}
    assert len(rules.items) == 1
    errors = {state.name: state.last_error for state in service.states.all()}
    assert "HTTP 500" in errors["e500"]
    assert "read_timeout" in errors["slow"]
    assert "max_body_size" in errors["big"]
    assert "redirect loop" in errors["loop"]
    assert "looks like an HTML page" in errors["html"]
    assert "refused" in errors["bomb"] and "refused" in errors["bomb16"]
    assert "looks like JSON" in errors["json"]
    assert "empty" in errors["empty"]
    for name in broken:
        state = service.states.get(name)
        assert state.consecutive_failures == 1 and state.health == "failing"
        # Backoff starts at the feed's interval (10m); Retry-After: 120 is shorter, so the interval wins there too.
        assert state.next_poll_at >= before + timedelta(minutes=10)
    status = service.status()
    assert (status.feeds_ok, status.feeds_failing) == (1, len(broken))

    # Feeds in backoff are not polled by the next --once cycle; the healthy one is.
    outcomes = await service.run_once()
    assert outcomes["ok"] == PollOutcome.NOT_MODIFIED
    assert outcomes["e500"] == PollOutcome.SKIPPED
    assert len(server.requests_to("/status/500")) == 1


async def test_retry_after_longer_than_backoff_is_honoured(server: FeedServer, service_for: Any) -> None:
    service = await service_for(
        [{"name": "limited", "url": server.url("/status/429"), "interval": "30s"}],
    )
    before = datetime.now(UTC)
    await service.run_once()
    state = service.states.get("limited")
    assert state.next_poll_at >= before + timedelta(seconds=120)
    assert "retry after 120s" in state.last_error


async def test_gone_feed_is_never_polled_again_until_its_url_changes(
    server: FeedServer, service_for: Any
) -> None:
    server.add_feed("new", 1)
    feeds = [{"name": "g", "url": server.url("/status/410")}]
    service = await service_for(feeds)
    assert await service.run_once() == {"g": PollOutcome.GONE}
    service.states.db.connection.execute("UPDATE feed_state SET next_poll_at = NULL")
    assert await service.run_once() == {"g": PollOutcome.SKIPPED}
    assert len(server.requests_to("/status/410")) == 1
    assert service.status().feeds_gone == 1

    moved = make_settings(service.settings.state_dir, [{"name": "g", "url": server.url("/feed/new")}])
    await service.apply(moved, service.rules)
    assert await service.run_once() == {"g": PollOutcome.CHANGED}
    assert service.states.get("g").health == "ok"


async def test_recovery_resets_the_failure_count(server: FeedServer, service_for: Any) -> None:
    service = await service_for([{"name": "flaky", "url": server.url("/feed/flaky")}])
    assert await service.run_once() == {"flaky": PollOutcome.ERROR}  # 404: not created yet
    server.add_feed("flaky", 1)
    service.states.db.connection.execute("UPDATE feed_state SET next_poll_at = NULL")
    assert await service.run_once() == {"flaky": PollOutcome.CHANGED}
    state = service.states.get("flaky")
    assert state.consecutive_failures == 0 and state.last_error is not None and state.health == "ok"


async def test_a_cycle_prunes_every_expired_item_in_chunks(server: FeedServer, service_for: Any,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tocsin.runtime.service.PRUNE_ROWS_PER_COMMIT", 3)
    server.add_feed("a", 2)
    service = await service_for([{"name": "a", "url": server.url("/feed/a")}])
    long_ago = datetime.now(UTC) - timedelta(days=400)
    expired = [Item(id=f"old-{index}", feed="a", title="t", link=f"https://e.org/{index}", published=long_ago,
                    summary="") for index in range(5)]
    service.pipeline.seen.filter_new(expired, long_ago)  # ten keys, past any retention
    assert await service.run_once() == {"a": PollOutcome.CHANGED}
    assert service.pipeline.seen.count() == 4  # only the feed's two items (id and link keys) are left


async def test_polls_started_a_few_at_a_time_keep_their_outcomes(server: FeedServer, service_for: Any,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("tocsin.runtime.service.POLLS_STARTED_AT_ONCE", 2)
    for name in ("a", "c", "e"):
        server.add_feed(name, 1)
    feeds = [{"name": name, "url": server.url(f"/feed/{name}")} for name in "abcde"]
    service = await service_for(feeds)
    expected = {name: PollOutcome.CHANGED if name in "ace" else PollOutcome.ERROR for name in "abcde"}
    assert await service.run_once() == expected

    # Stopped while polls are being started: those started are cancelled, none is left running.
    cycle = asyncio.create_task(service.run_once())
    for _ in range(100):
        if service._in_flight:
            break
        await asyncio.sleep(0)
    assert service._in_flight
    service.request_stop()
    assert await cycle == {"b": PollOutcome.SKIPPED, "d": PollOutcome.SKIPPED}  # backing off, not polled
    assert not service._in_flight
