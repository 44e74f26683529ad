"""Feed health rows and seen items in a real SQLite file."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import StoreOpener
from tocsin.config.feeds import FeedConfig
from tocsin.items import Item
from tocsin.store import Database, open_database
from tocsin.store.feeds import FeedStates
from tocsin.store.seen import SeenItems

NOW = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(open_store: StoreOpener) -> Database:
    return open_store()


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


async def test_chunked_flush_lets_polls_run_and_never_overwrites_a_newer_outcome(db: Database) -> None:
    states = FeedStates(db)
    names = [f"f{index}" for index in range(6)]
    states.sync([feed(name) for name in names])
    for name in names:
        states.touch(name, status=304, now=NOW, next_poll_at=NOW, etag='"old"', last_modified=None)
    later = NOW + timedelta(minutes=10)
    ran_between_chunks: list[int] = []

    async def polls_meanwhile() -> None:
        # Its turn comes after the first chunk (f0, f1) was written on the database thread, before the second.
        async with db.turn():
            ran_between_chunks.append(db.connection.execute(
                "SELECT count(*) FROM feed_state WHERE etag IS NOT NULL").fetchone()[0])
            states.record_failure("f3", error="HTTP 500", status=500, now=later, next_poll_at=later)
            states.touch("f4", status=304, now=later, next_poll_at=later, etag='"new"', last_modified=None)

    await asyncio.gather(states.flush_in_chunks(rows_per_commit=2), polls_meanwhile())
    assert ran_between_chunks == [2]
    fresh = {state.name: state for state in FeedStates(db).all()}
    assert fresh["f3"].consecutive_failures == 1 and fresh["f3"].etag is None  # the older 304 did not clear it
    assert all(fresh[name].etag == '"old"' for name in ("f0", "f1", "f2", "f5"))
    assert states.get("f3").health == "failing"  # type: ignore[union-attr]
    # f4's newer touch is neither lost nor replaced by the older one: it waits for the next flush.
    assert fresh["f4"].etag is None and states.get("f4").etag == '"new"'  # type: ignore[union-attr]
    states.flush()
    f4 = FeedStates(db).get("f4")
    assert f4 is not None and f4.etag == '"new"' and f4.last_success_at == later


def test_unhealthy_feeds_are_counted_without_flushing(db: Database) -> None:
    states = FeedStates(db)
    states.sync([feed("a"), feed("b"), feed("c")])
    states.record_failure("a", error="HTTP 500", status=500, now=NOW, next_poll_at=NOW)
    states.record_failure("b", error="HTTP 500", status=500, now=NOW, next_poll_at=NOW)
    states.mark_gone("c", error="HTTP 410 Gone", now=NOW)
    states.touch("b", status=304, now=NOW, next_poll_at=NOW, etag=None, last_modified=None)  # b recovered
    assert [(state.name, state.health) for state in states.unhealthy()] == [("a", "failing"), ("c", "gone")]
    assert states.count_unhealthy() == 2
    assert FeedStates(db).count_unhealthy() == 3  # b's recovery is still pending, in memory only

    states.sync([feed("a"), feed("b"), feed("c"), feed("d"), feed("e"), feed("f")])
    states.touch("e", status=304, now=NOW, next_poll_at=NOW, etag=None, last_modified=None)
    counts = states.health_counts({"a", "b", "c", "d", "e"})  # f is not enabled
    assert counts == {"failing": 1, "ok": 2, "gone": 1, "new": 1}
    assert counts == Counter(state.health for state in states.all() if state.name != "f")


def test_seen_items_pruned_in_chunks_oldest_first(db: Database) -> None:
    seen = SeenItems(db)
    for day in range(5):
        seen.filter_new([item("a", f"day{day}", f"https://e.org/{day}")], NOW + timedelta(days=day))
    cutoff = NOW + timedelta(days=3)  # days 0, 1 and 2 have expired: two keys each

    def days_left() -> list[int]:
        rows = db.connection.execute("SELECT seen_at FROM seen_items ORDER BY seen_at").fetchall()
        return [(row[0] - int(NOW.timestamp())) // 86400 for row in rows]

    assert seen.prune(cutoff, limit=4) == 4
    assert days_left() == [2, 2, 3, 3, 4, 4]
    assert seen.prune(cutoff, limit=4) == 2
    assert seen.prune(cutoff, limit=4) == 0
    assert days_left() == [3, 3, 4, 4]


def test_an_item_seen_again_is_restamped_at_most_hourly(db: Database) -> None:
    seen = SeenItems(db)
    kept = item("a", "1", "https://e.org/1")
    seen.filter_new([kept], NOW)

    def stamps() -> set[int]:
        return {row[0] for row in db.connection.execute("SELECT seen_at FROM seen_items")}

    seen.filter_new([kept], NOW + timedelta(minutes=59))
    assert stamps() == {int(NOW.timestamp())}  # nothing rewritten: a changed feed's 49 old items cost no writes
    later = NOW + timedelta(hours=2)
    seen.filter_new([kept], later)
    assert stamps() == {int(later.timestamp())}
    assert seen.prune(NOW + timedelta(hours=1)) == 0
