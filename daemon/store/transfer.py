"""Moving an SQLite state into PostgreSQL (`tocsin store migrate --to postgresql://...`).

Both stores are brought to this tocsin's schema version first, so every table has the same columns in both; the
rows then go over with PostgreSQL's COPY (psycopg's `Cursor.copy`), all in one transaction of the target: a copy
that fails halfway leaves the target as empty as it was. SQLite's implicit rowids of `stories` and
`suppressed_alerts` become PostgreSQL's explicit `rowid` columns (their order matters: the story index and the
held alerts are read newest first), the sequences behind them continue after the copied rows, and the story index's
postings, which SQLite keeps only in memory, are written from the stories as migration 0009 does."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from tocsin.errors import StoreError
from tocsin.store.db import SqliteDatabase
from tocsin.store.postgres import PostgresDatabase

NOT_COPIED = frozenset({"schema_version", "instances", "leader", "story_postings"})
"""Tables of the target that are not the SQLite state's: the schema's version (the target's own migrations wrote
it), who runs (written by the instances that start on it), and the story index (rebuilt from the stories)."""

PARENTS_FIRST = ("stories",)
"""Tables that others' foreign keys point at, copied before the rest."""

_ROWS_PER_BATCH = 5000


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


def copy_state(source: SqliteDatabase, target: PostgresDatabase) -> list[Copied]:
    """Copy every row of `source` into the empty `target`; returns the rows copied per table. Raises StoreError
    when the target already holds state (nothing is overwritten) or the two schemas differ."""
    pg = target.psycopg
    tables = _target_tables(target)
    occupied = [table for table in tables
                if pg.execute(f'SELECT EXISTS (SELECT 1 FROM "{table}")').fetchone() != (False,)]
    if occupied:
        raise StoreError(f"{target.name} already holds a tocsin state (rows in {', '.join(occupied)}); "
                         "migrate into an empty database")
    ordered = sorted(tables, key=lambda table: (table not in PARENTS_FIRST, table))
    copied = []
    with pg.transaction():
        for table in ordered:
            copied.append(Copied(table, _copy_table(source.sqlite, target, table)))
        pg.execute("INSERT INTO story_postings (key, story) SELECT DISTINCT posting.value::bigint, stories.rowid"
                   " FROM stories, json_array_elements_text(stories.index_keys::json) AS posting(value)")
        _continue_sequences(target)
    return copied


def _target_tables(target: PostgresDatabase) -> list[str]:
    rows = target.psycopg.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    ).fetchall()
    return [str(row[0]) for row in rows if row[0] not in NOT_COPIED]


def _columns(target: PostgresDatabase, table: str) -> list[str]:
    rows = target.psycopg.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = %s ORDER BY ordinal_position", (table,),
    ).fetchall()
    return [str(row[0]) for row in rows]


def _copy_table(source: sqlite3.Connection, target: PostgresDatabase, table: str) -> int:
    columns = _columns(target, table)
    present = {str(row[1]) for row in source.execute(f'PRAGMA table_info("{table}")')}
    missing = [column for column in columns if column not in present and column != "rowid"]
    if missing:
        raise StoreError(f"the SQLite state's table {table} lacks {', '.join(missing)}: its schema is not this "
                         "tocsin's; open it once with this tocsin (it migrates), then migrate it again")
    listed = ", ".join(f'"{column}"' for column in columns)
    # In the order SQLite gave the rows their rowids, where that order is copied (WITHOUT ROWID tables have none).
    order = " ORDER BY rowid" if "rowid" in columns else ""
    rows = source.execute(f'SELECT {listed} FROM "{table}"{order}')
    count = 0
    with target.psycopg.cursor() as cursor, cursor.copy(f'COPY "{table}" ({listed}) FROM STDIN') as copy:
        while batch := rows.fetchmany(_ROWS_PER_BATCH):
            for row in batch:
                copy.write_row(tuple(row))
            count += len(batch)
    return count


def _continue_sequences(target: PostgresDatabase) -> None:
    """Every serial column's sequence continues after the largest value copied into it."""
    serials = target.psycopg.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND column_default LIKE 'nextval(%%'"
    ).fetchall()
    for table, column in serials:
        target.psycopg.execute(
            f'SELECT setval(pg_get_serial_sequence(%s, %s), coalesce(max("{column}"), 0) + 1, false) FROM "{table}"',
            (table, column),
        )
