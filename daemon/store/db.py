"""Opening the state database: WAL, durability, versioned migrations, one writer at a time."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Literal

from daemon.errors import StoreError

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) for every migration shipped with the package, in order."""
    found = []
    for entry in resources.files("daemon.store").joinpath("migrations").iterdir():
        name_match = _MIGRATION_NAME.match(entry.name)
        if name_match:
            found.append((int(name_match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise StoreError(f"migration numbers must run 1, 2, 3, ... without gaps; found {versions}")
    return found


class Database:
    """The one connection to the state database. Used from the event loop's thread only."""

    def __init__(self, connection: sqlite3.Connection, path: Path) -> None:
        self.connection = connection
        self.path = path

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception: a state change and the alerts it decided
        are written together or not at all."""
        if self.connection.in_transaction:
            # Nested use joins the outer transaction: callers compose without knowing who opened it.
            yield self.connection
            return
        self.connection.execute("BEGIN IMMEDIATE")
        try:
            yield self.connection
        except BaseException:
            self.connection.execute("ROLLBACK")
            raise
        self.connection.execute("COMMIT")

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.connection.execute("PRAGMA optimize")
        self.connection.close()


def open_database(path: Path | str, synchronous: Literal["normal", "full"] = "full") -> Database:
    """Open (creating if needed) and migrate the state database. ":memory:" gives a throwaway one."""
    in_memory = str(path) == ":memory:"
    db_path = Path(path)
    try:
        if not in_memory:
            db_path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            str(path), isolation_level=None, check_same_thread=False, timeout=10.0
        )
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"{path}: cannot open the state database ({exc})") from exc
    connection.row_factory = sqlite3.Row
    try:
        if not in_memory:
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{path}: the filesystem does not support WAL mode (got {mode})")
        connection.execute(f"PRAGMA synchronous={synchronous.upper()}")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=10000")
        # 32 MiB of page cache (the default is 2 MiB): the story index and seen items are random-access B-trees,
        # and at 100k items in the story window the default cache made every insert a page miss.
        connection.execute("PRAGMA cache_size=-32768")
        _migrate(connection, path)
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise StoreError(f"{path}: the state database is unusable ({exc}); restore a backup or move it away") from exc
    return Database(connection, db_path)


def _migrate(connection: sqlite3.Connection, path: Path | str) -> None:
    current = int(connection.execute("PRAGMA user_version").fetchone()[0])
    known = migrations()
    if current > len(known):
        raise StoreError(
            f"{path}: schema version {current} is newer than this tocsin knows ({len(known)}); "
            "run the newer tocsin or restore a backup"
        )
    for version, name, sql in known[current:]:
        connection.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(sql):
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version={version}")
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            connection.execute("ROLLBACK")
            raise StoreError(f"{path}: migration {name} failed ({exc})") from exc


def _statements(sql: str) -> Iterator[str]:
    """Split a migration into statements (our migrations hold no triggers, so ';' at line end ends one)."""
    buffer: list[str] = []
    for line in sql.splitlines():
        if line.strip().startswith("--"):
            continue
        buffer.append(line)
        if line.rstrip().endswith(";"):
            statement = "\n".join(buffer).strip()
            buffer = []
            if statement:
                yield statement
    rest = "\n".join(buffer).strip()
    if rest:
        yield rest
