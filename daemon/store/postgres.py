"""The PostgreSQL dialect of the state store: connecting through psycopg 3 and the versioned migrations.

The migrations are the SQLite ones' versions written for PostgreSQL (migrations/postgresql/); `schema_version`
records what ran, as `PRAGMA user_version` does in SQLite. Several instances may start at once against one
database, so a migration run holds a transaction-level advisory lock: the second instance waits, then finds the
work done."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tocsin.errors import StoreError
from tocsin.store.db import migrations
from tocsin.urls import redact_url

if TYPE_CHECKING:
    import psycopg

# The advisory lock key of migration runs (any constant that no other lock of tocsin uses).
_MIGRATION_LOCK = 0x70C5_0001


def connect(url: str) -> psycopg.Connection[tuple[object, ...]]:
    """A connection in autocommit mode: every transaction is an explicit `with connection.transaction()`."""
    try:
        import psycopg
    except ImportError as exc:
        raise StoreError(
            "store.url names PostgreSQL, but psycopg is not installed (pip install 'tocsin[postgres]')"
        ) from exc
    try:
        return psycopg.connect(url, autocommit=True)
    except psycopg.Error as exc:
        raise StoreError(f"{redact_url(url)}: cannot connect to PostgreSQL ({exc})") from exc


def schema_version(connection: psycopg.Connection[tuple[object, ...]]) -> int:
    row = connection.execute(
        "SELECT coalesce(max(version), 0) FROM schema_version"
        if _has_version_table(connection) else "SELECT 0"
    ).fetchone()
    return int(row[0]) if row else 0  # type: ignore[call-overload]


def migrate(connection: psycopg.Connection[tuple[object, ...]], to: int | None = None) -> int:
    """Apply the migrations after the current version up to `to` (all by default), each in its own transaction;
    returns the version reached. A database newer than this tocsin is refused."""
    import psycopg

    known = migrations("postgresql")
    target = len(known) if to is None else to
    if not 0 <= target <= len(known):
        raise StoreError(f"no migration {target}: this tocsin knows versions 1 to {len(known)}")
    with connection.transaction():
        connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        connection.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, "
                           "applied_at DOUBLE PRECISION NOT NULL DEFAULT extract(epoch FROM now()))")
    current = schema_version(connection)
    if current > len(known):
        raise StoreError(f"schema version {current} is newer than this tocsin knows ({len(known)}); "
                         "run the newer tocsin or restore a backup")
    if target < current:
        raise StoreError(f"the database is at version {current}; migrations do not run backwards (to {target})")
    for version, name, sql in known[current:target]:
        try:
            with connection.transaction():
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
                if schema_version(connection) >= version:
                    continue  # another instance ran it while this one waited for the lock
                connection.execute(sql.encode())
                connection.execute("INSERT INTO schema_version (version) VALUES (%s)", (version,))
        except psycopg.Error as exc:
            raise StoreError(f"PostgreSQL migration {name} failed ({exc})") from exc
    return schema_version(connection)


def _has_version_table(connection: psycopg.Connection[tuple[object, ...]]) -> bool:
    row = connection.execute("SELECT to_regclass('schema_version') IS NOT NULL").fetchone()
    return bool(row and row[0])
