"""A store that cannot write (#18 item 6), on a real SQLite file: a full disk is made with `max_page_count` (SQLite
answers SQLITE_FULL, "database or disk is full", exactly as on a full filesystem), a failing write with another
connection holding the write lock. The full-filesystem run of the whole daemon is tests/test_full_disk.py.

Also: what a command does not catch is printed through the redaction, like everything else it prints."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tocsin import metrics
from tocsin.config.feeds import FeedConfig
from tocsin.errors import StorageFailure
from tocsin.runtime.health import HealthReport, LoopLagProbe, health_summary
from tocsin.store import open_database
from tocsin.store.db import WAL_SIZE_LIMIT, SqliteDatabase
from tocsin.store.feeds import FeedStates

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(tmp_path: Path) -> Iterator[SqliteDatabase]:
    database = open_database(tmp_path / "state" / "tocsin.sqlite3")
    yield database
    database.close()


def errors_counted(kind: str) -> float:
    value = metrics.REGISTRY.get_sample_value("tocsin_store_errors_total", {"kind": kind})
    return value or 0.0


def no_room_to_grow(db: SqliteDatabase) -> None:
    """The database may not take one more page: the next write that needs one fails with SQLITE_FULL."""
    pages = db.sqlite.execute("PRAGMA page_count").fetchone()[0]
    db.sqlite.execute(f"PRAGMA max_page_count={pages}")


def room_again(db: SqliteDatabase) -> None:
    db.sqlite.execute("PRAGMA max_page_count=1073741823")


def size_of(path: str) -> int:
    return os.path.getsize(path)


def record_a_big_parse(states: FeedStates, name: str, when: datetime) -> None:
    """A poll's outcome that needs new pages: the digests of 50,000 entries (400 KB)."""
    with states.db.transaction():
        states.record_parsed(name, status=200, now=when, next_poll_at=when, etag=None, last_modified=None,
                             body_hash="h", new_items=0, warning=None, entry_digests=frozenset(range(50_000)))


async def test_a_store_without_room_fails_clearly_and_says_so_until_a_write_commits(db: SqliteDatabase) -> None:
    states = FeedStates(db)
    states.sync([FeedConfig(name="news", url="http://127.0.0.1:9/feed")])
    before = errors_counted("full")
    no_room_to_grow(db)

    with pytest.raises(StorageFailure) as raised:
        await db.run(record_a_big_parse, states, "news", NOW)
    message = str(raised.value)
    assert raised.value.kind == "full"
    assert message.startswith(f"{db.path}: the state filesystem is full (database or disk is full")
    assert f"holding {db.path.parent}" in message and "free at least 16.0 MiB there" in message
    assert db.storage_error == message
    assert errors_counted("full") == before + 1
    # Nothing of the failed transaction stayed, and none is left open: the feed's state did not advance.
    assert not db.sqlite.in_transaction
    state = states.get("news")
    assert state is not None and state.body_hash is None

    with pytest.raises(StorageFailure):
        await db.run(record_a_big_parse, states, "news", NOW)
    assert (db.storage_error or "").startswith(f"{db.path}: the state filesystem is full")  # free space varies
    assert errors_counted("full") == before + 2

    room_again(db)
    await db.run(record_a_big_parse, states, "news", NOW)
    assert db.storage_error is None
    state = states.get("news")
    assert state is not None and state.body_hash == "h"


async def test_the_write_ahead_log_is_cut_back_after_a_storage_failure(db: SqliteDatabase) -> None:
    states = FeedStates(db)
    states.sync([FeedConfig(name="news", url="http://127.0.0.1:9/feed")])
    wal = f"{db.path}-wal"
    no_room_to_grow(db)
    with pytest.raises(StorageFailure):
        await db.run(record_a_big_parse, states, "news", NOW)
    assert size_of(wal) > 0
    room_again(db)
    await db.run(lambda: None)  # any next job cuts the log back first
    assert size_of(wal) == 0
    assert db.sqlite.execute("PRAGMA journal_size_limit").fetchone()[0] == WAL_SIZE_LIMIT


async def test_a_failure_the_store_cannot_write_is_held_shown_and_written_later(db: SqliteDatabase) -> None:
    states = FeedStates(db)
    states.sync([FeedConfig(name="news", url="http://127.0.0.1:9/feed"),
                 FeedConfig(name="other", url="http://127.0.0.1:9/other")])
    db.sqlite.execute("PRAGMA busy_timeout=0")
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # the write lock: every write of the daemon fails meanwhile
    try:
        for attempt in (1, 2):
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                await db.run(states.record_failure, "news", error="HTTP 500", status=500,
                             now=NOW + timedelta(minutes=attempt), next_poll_at=NOW + timedelta(hours=attempt))
        held = states.get("news")
        assert held is not None and held.health == "failing" and held.consecutive_failures == 2
        assert held.last_error == "HTTP 500" and held.next_poll_at == NOW + timedelta(hours=2)
        assert [state.name for state in states.unhealthy()] == ["news"]
        assert states.health_counts({"news", "other"})["failing"] == 1
        with pytest.raises(sqlite3.OperationalError):
            await states.flush_in_chunks()
    finally:
        other.execute("ROLLBACK")
        other.close()

    await states.flush_in_chunks()
    written = sqlite3.connect(db.path).execute(
        "SELECT consecutive_failures, last_error FROM feed_state WHERE name = 'news'").fetchone()
    assert written == (2, "HTTP 500")
    # Once written, the next failure counts on from it.
    assert await db.run(states.record_failure, "news", error="HTTP 502", status=502, now=NOW + timedelta(hours=3),
                        next_poll_at=NOW + timedelta(hours=4)) == 3


async def test_a_held_failure_gives_way_to_a_later_success(db: SqliteDatabase) -> None:
    states = FeedStates(db)
    states.sync([FeedConfig(name="news", url="http://127.0.0.1:9/feed")])
    no_room_to_grow(db)
    with pytest.raises(StorageFailure):
        await db.run(record_a_big_parse, states, "news", NOW)
    # The failure's record needs no new page here; a lock makes it fail as on a disk with no room for the log.
    db.sqlite.execute("PRAGMA busy_timeout=0")
    other = sqlite3.connect(db.path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError):
        await db.run(states.record_failure, "news", error="not stored", status=200, now=NOW, next_poll_at=NOW)
    other.execute("ROLLBACK")
    other.close()
    room_again(db)
    await db.run(record_a_big_parse, states, "news", NOW + timedelta(minutes=1))
    state = states.get("news")
    assert state is not None and state.health == "ok" and state.consecutive_failures == 0
    await states.flush_in_chunks()  # the held failure is older than the success: not written over it
    state = states.get("news")
    assert state is not None and state.health == "ok" and state.last_error is None


def test_healthz_is_degraded_while_the_store_cannot_write() -> None:
    healthy, body = health_summary(HealthReport(scheduler_running=True, storage_error="/s: full"), LoopLagProbe())
    assert healthy and body["status"] == "degraded" and body["storage_error"] == "/s: full"
    healthy, body = health_summary(HealthReport(scheduler_running=True), LoopLagProbe())
    assert healthy and body["status"] == "ok" and body["storage_error"] is None


FEED_PASSWORD = "feed-Pw-0x5ecret"
RECEIVER_TOKEN = "tok-9f8e7d6c5b4a"


def test_an_uncaught_error_is_printed_through_the_redaction(tmp_path: Path) -> None:
    """A bug that lets an exception escape a command, its message holding configured secrets (as formatting a
    feed's settings would): the traceback is printed, masked, and the command exits 1."""
    config = tmp_path / "tocsin.toml"
    config.write_text(textwrap.dedent(f"""\
        state_dir = "{tmp_path / 'state'}"
        [[feeds]]
        name = "private"
        url = "https://alice:{FEED_PASSWORD}@news.example.org/rss"
        [[delivery.receivers]]
        name = "hook"
        kind = "webhook"
        url = "https://hooks.example.org/in?token={RECEIVER_TOKEN}"
        [delivery.default]
        receivers = ["hook"]
        """))
    bug = textwrap.dedent("""\
        import sys
        import tocsin.cli.feeds
        from tocsin.cli import main
        from tocsin.config import load_config

        def broken(args):
            settings = load_config(args.config)
            raise RuntimeError(f"cannot show {settings.feeds[0]!r} beside {settings.delivery.receivers[0].url}")

        tocsin.cli.feeds.handle = broken
        sys.exit(main(["feeds", "--config", sys.argv[1]]))
        """)
    env = {key: value for key, value in os.environ.items() if not key.startswith("TOCSIN_")}
    result = subprocess.run([sys.executable, "-c", bug, str(config)], capture_output=True, text=True, timeout=60,
                            env=env, check=False)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "RuntimeError: cannot show" in result.stderr and "***" in result.stderr
    assert FEED_PASSWORD not in result.stderr + result.stdout
    assert RECEIVER_TOKEN not in result.stderr + result.stdout
