"""The SQL surface both stores offer: a connection that runs `?`-parameter statements and rows read by column name
or position, plus the few expressions whose spelling differs between SQLite and PostgreSQL.

The stores' SQL is written once, in the subset both dialects understand (ON CONFLICT, RETURNING, WITH RECURSIVE);
the store/postgres.py connection turns the `?` marks into psycopg's and drops SQLite's index hints. What cannot be
said the same way in both (reading a JSON field, the elements of a JSON array) comes from the functions here."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal, Protocol

from tocsin.errors import StorageFailure, StoreUnreachable

Dialect = Literal["sqlite", "postgresql"]


class Row(Protocol):
    """A result row: `row["name"]`, `row[0]`, and unpacking like a tuple."""

    def __getitem__(self, key: int | str, /) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...
    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What store code may do with a connection: run statements (autocommitted unless inside a transaction)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...
    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> Cursor: ...


def json_text(dialect: Dialect, column: str, key: str) -> str:
    """The text of a top-level field of a JSON object held in `column`."""
    if dialect == "postgresql":
        return f"({column}::jsonb ->> '{key}')"
    return f"json_extract({column}, '$.{key}')"


def json_elements(dialect: Dialect, column: str, alias: str) -> str:
    """A FROM item: the elements of the JSON array in `column` as rows of `alias`, each in `alias.value`."""
    if dialect == "postgresql":
        return f"json_array_elements_text({column}::json) AS {alias}(value)"
    return f"json_each({column}) AS {alias}"


def database_errors() -> tuple[type[Exception], ...]:
    """The exceptions a store raises when the database itself fails: the driver's, StorageFailure (what a full or
    failing disk is raised as) and StoreUnreachable (a lost PostgreSQL connection not yet back), not tocsin's
    other StoreErrors."""
    # psycopg only when store/postgres.py loaded it: a SQLite daemon never imports the driver.
    psycopg = sys.modules.get("psycopg")
    drivers = (sqlite3.Error, psycopg.Error) if psycopg is not None else (sqlite3.Error,)
    return (StorageFailure, StoreUnreachable, *drivers)
