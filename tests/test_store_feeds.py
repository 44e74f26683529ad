"""Feed health rows and seen items in a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.config.feeds import FeedConfig
from daemon.items import Item
from daemon.store import Database, open_database
from daemon.store.feeds import FeedStates
from daemon.store.seen import SeenItems

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(tmp_path / "state.sqlite3")
    yield database
    database.close()


def feed(name: str, url: str = "https://example.org/feed") -> FeedConfig:
    return FeedConfig(name=name, url=url)


def test_health_lifecycle_and_url_change_starts_over(db: Database) -> None:
    states = FeedStates(db)
    states.sync([feed("a"), feed("b")])
    assert [state.health for state in states.all()] == ["new", "new"]

    states.record_parsed("a", status=200, now=NOW, next_poll_at=NOW + timedelta(minutes=10), etag='"v1"',
                         last_modified="Tue, 10 Jun 2025 11:00:00 GMT", body_hash="h1", new_items=3,
                         warning="ill-formed")
    assert states.record_failure("a", error="HTTP 500", status=500, now=NOW, next_poll_at=NOW) == 1
    assert states.record_failure("a", error="HTTP 500", status=500, now=NOW, next_poll_at=NOW) == 2
    states.mark_gone("b", error="HTTP 410 Gone", now=NOW)
    a = states.get("a")
    assert a is not None and a.health == "failing" and a.etag == '"v1"' and a.items_total == 3
    assert a.first_fetch_done and a.warning == "ill-formed"
    assert states.count_unhealthy() == 2

    # A 304 keeps the body hash and warning, and clears the failure count: seen at once, written at flush.
    later = NOW + timedelta(minutes=10)
    states.touch("a", status=304, now=later, next_poll_at=later, etag='"v1"', last_modified=None)
    a = states.get("a")
    assert a is not None and a.health == "ok" and a.body_hash == "h1" and a.warning == "ill-formed"
    assert FeedStates(db).get("a").health == "failing"  # type: ignore[union-attr]  # not written yet
    states.flush()
    assert FeedStates(db).get("a") == a
    assert states.count_unhealthy() == 1

    # Re-syncing with the same urls keeps everything; a new url for b starts b over; a removed feed goes.
    states.sync([feed("a"), feed("b")])
    assert states.get("b").gone  # type: ignore[union-attr]
    states.sync([feed("b", "https://example.org/moved")])
    b = states.get("b")
    assert b is not None and not b.gone and b.health == "new" and b.etag is None
    assert states.get("a") is None


def test_state_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    first = open_database(path)
    FeedStates(first).sync([feed("a")])
    states = FeedStates(first)
    states.touch("a", status=200, now=NOW, next_poll_at=NOW, etag='"e"', last_modified=None)
    states.flush()
    first.close()
    second = open_database(path)
    try:
        state = FeedStates(second).get("a")
        assert state is not None and state.etag == '"e"' and state.last_success_at == NOW
    finally:
        second.close()


def item(feed_name: str, guid: str, link: str) -> Item:
    return Item(id=guid, feed=feed_name, title=guid, link=link, published=NOW, summary="")


def test_seen_items_dedupe_by_id_and_link_and_prune(db: Database) -> None:
    seen = SeenItems(db)
    first = [item("a", "1", "https://e.org/x?utm_source=a"), item("a", "2", "https://e.org/y")]
    assert seen.filter_new(first, NOW) == first
    assert seen.filter_new(first, NOW) == []
    # The same article in another feed, with other tracking parameters: not new.
    assert seen.filter_new([item("b", "other", "https://E.org/x?utm_medium=b")], NOW) == []
    # Seeing an item again keeps it remembered: pruning counts from the last sighting, not the first.
    later = NOW + timedelta(days=40)
    fresh = item("b", "3", "https://e.org/z")
    assert seen.filter_new([fresh, first[1]], later) == [fresh]
    # Left to prune: item 1's two keys and the id key of b's "other" (its link was item 1's).
    assert seen.prune(NOW + timedelta(days=30)) == 3
    assert seen.count() == 4
    assert seen.filter_new([first[1]], later) == []
