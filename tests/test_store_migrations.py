"""Versioned migrations: applied once, in order, recorded in user_version; a newer database is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tocsin.errors import StoreError
from tocsin.store import open_database
from tocsin.store.db import migrations


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
