"""Versioned migrations: applied once, in order, recorded in user_version; a newer database is refused."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tocsin.errors import StoreError
from tocsin.store import open_database
from tocsin.store.db import migrations
from tocsin.store.feeds import FeedStates
from tocsin.store.outbox import OutboxStore


def user_version(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("PRAGMA user_version").fetchone()[0])


def test_a_new_database_gets_every_migration_once_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "state" / "tocsin.sqlite3"
    known = migrations()
    assert [version for version, _, _ in known] == list(range(1, len(known) + 1))
    db = open_database(path)
    assert db.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in db.connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"feed_state", "seen_items", "stories"} <= tables
    db.connection.execute("INSERT INTO seen_items (key, seen_at) VALUES (x'01', 1)")
    db.close()
    assert user_version(path) == len(known)

    # Opening again migrates nothing and keeps the data.
    again = open_database(path)
    assert again.connection.execute("SELECT count(*) FROM seen_items").fetchone()[0] == 1
    again.close()


def test_a_database_from_a_newer_tocsin_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.sqlite3"
    open_database(path).close()
    with sqlite3.connect(path) as connection:
        connection.execute(f"PRAGMA user_version={len(migrations()) + 1}")
    with pytest.raises(StoreError, match="newer than this tocsin knows"):
        open_database(path)


def test_a_database_at_an_older_version_is_brought_up_to_date(tmp_path: Path) -> None:
    path = tmp_path / "tocsin.sqlite3"
    with sqlite3.connect(path) as connection:
        _, _, first = migrations()[0]
        connection.executescript(first)
        connection.execute("PRAGMA user_version=1")
    open_database(path).close()
    assert user_version(path) == len(migrations())


def test_migration_7_turns_every_old_time_form_into_real_unix_seconds(tmp_path: Path) -> None:
    """A state file written before 0007 (ISO text in feed_state, REAL in the outbox, INTEGER elsewhere) keeps its
    times, now all REAL Unix seconds, and reads back through the stores as the same aware UTC datetimes."""
    path = tmp_path / "tocsin.sqlite3"
    with sqlite3.connect(path) as connection:
        for version, _, sql in migrations()[:6]:
            connection.executescript(sql)
            connection.execute(f"PRAGMA user_version={version}")
        connection.execute(
            "INSERT INTO feed_state (name, url, last_success_at, last_error_at, next_poll_at, entries_checked_at)"
            " VALUES ('a', 'http://127.0.0.1/a', '2026-03-04T05:06:07.250000+00:00', '2026-03-04T05:00:00+00:00',"
            " '2026-03-04T05:11:07.123456+00:00', NULL)"
        )
        connection.execute("INSERT INTO seen_items (key, seen_at) VALUES (x'01', 1772600767)")
        connection.execute(
            "INSERT INTO stories (id, first_at, last_at, title, words, entities, numbers, tags, report_feeds,"
            " report_signatures, index_keys) VALUES ('s1', 1772600000, 1772600767, 't', '', '', '', '', '', x'', '[7]')"
        )
        connection.execute("INSERT INTO silences VALUES ('x', '[]', 1772600000, 1772700000, 'c', 1772600000)")
        connection.execute(
            "INSERT INTO deliveries (receiver, alert_ids, state, created_at, next_attempt_at)"
            " VALUES ('hook', '[]', 'pending', 1772600767.5, 1772600768.25)"
        )
        connection.execute("INSERT INTO situations VALUES ('place:Idlib', 2, 1772600000, 2, 1772600100, 1772500000)")
        connection.execute("INSERT INTO situation_changes VALUES ('place:Idlib', 1772600000, 2, 1, NULL, 'rise')")
        story_rowid = connection.execute("SELECT rowid FROM stories WHERE id = 's1'").fetchone()[0]

    db = open_database(path)
    assert user_version(path) == len(migrations())
    time_columns = {
        "feed_state": ["last_success_at", "last_error_at", "next_poll_at"], "seen_items": ["seen_at"],
        "stories": ["first_at", "last_at"], "silences": ["starts_at", "ends_at", "created_at"],
        "deliveries": ["created_at", "next_attempt_at"], "situations": ["changed_at", "falling_since"],
        "situation_changes": ["at"],
    }
    for table, columns in time_columns.items():
        for column in columns:
            kind = db.connection.execute(f"SELECT typeof({column}) FROM {table}").fetchone()[0]
            assert kind == "real", (table, column, kind)
    assert db.connection.execute("SELECT rowid FROM stories WHERE id = 's1'").fetchone()[0] == story_rowid

    state = FeedStates(db).get("a")
    assert state is not None
    assert state.last_success_at == datetime(2026, 3, 4, 5, 6, 7, 250000, tzinfo=UTC)
    assert state.last_error_at == datetime(2026, 3, 4, 5, 0, 0, tzinfo=UTC)
    assert state.next_poll_at == datetime(2026, 3, 4, 5, 11, 7, 123456, tzinfo=UTC)
    assert state.entries_checked_at is None
    assert state.to_json()["last_success_at"] == "2026-03-04T05:06:07.250000Z"
    delivery = OutboxStore(db).due(datetime(2026, 3, 5, tzinfo=UTC), "hook", 10)[0]
    assert delivery.next_attempt_at == datetime.fromtimestamp(1772600768.25, UTC)
    db.close()
