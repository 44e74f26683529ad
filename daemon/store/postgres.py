"""The PostgreSQL dialect of the state store: connecting through psycopg 3, the versioned migrations, and
`PostgresDatabase`, the same `Database` interface the SQLite store offers.

The migrations are the SQLite ones' versions written for PostgreSQL (migrations/postgresql/); `schema_version`
records what ran, as `PRAGMA user_version` does in SQLite. Several instances may start at once against one
database, so a migration run holds a transaction-level advisory lock: the second instance waits, then finds the
work done."""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from tocsin.errors import StoreError, StoreUnreachable
from tocsin.store import leases
from tocsin.store.db import Database, migrations
from tocsin.store.sharing import Sharing, instance_name
from tocsin.store.sql import Connection, Dialect
from tocsin.urls import redact_url

if TYPE_CHECKING:
    import psycopg
    from psycopg.rows import RowMaker

# The advisory lock key of migration runs (any constant that no other lock of tocsin uses).
_MIGRATION_LOCK = 0x70C5_0001


def connect(url: str, password: str | None = None) -> psycopg.Connection[tuple[object, ...]]:
    """A connection in autocommit mode: every transaction is an explicit `with connection.transaction()`.
    `password`, when given, goes to libpq beside the URL, never into it (the URL is shown in messages)."""
    try:
        import psycopg
    except ImportError as exc:
        raise StoreError(
            "store.url names PostgreSQL, but psycopg is not installed (pip install 'tocsin[postgres]')"
        ) from exc
    extra: dict[str, Any] = {"password": password} if password is not None else {}
    try:
        return psycopg.connect(url, autocommit=True, **extra)
    except psycopg.Error as exc:
        raise StoreError(f"{redact_url(url)}: cannot connect to PostgreSQL ({_without(password, exc)})") from exc


def _without(password: str | None, exc: BaseException) -> str:
    """The driver's message, with the password blanked should libpq ever repeat it."""
    text = str(exc).strip()
    return text.replace(password, "<secret>") if password else text


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


# A quoted literal (kept whole), a `?` mark, a `%` (psycopg's own mark character, doubled even inside literals, as
# psycopg reads the whole text), or one of SQLite's index hints (PostgreSQL's planner chooses indexes itself).
_TRANSLATED = re.compile(r"'(?:[^']|'')*'|\?|%|\s+INDEXED BY \w+")


@functools.lru_cache(maxsize=1024)
def translate(sql: str) -> str:
    """The store's `?`-parameter SQL in psycopg's format (`%s`). Hand-written: sqlite3 and psycopg share no
    parameter style, and the stores' statements are few and fixed, so a cached rewrite costs nothing per call."""

    def replace(found: re.Match[str]) -> str:
        text = found.group()
        if text == "?":
            return "%s"
        if text.startswith("'"):
            return text.replace("%", "%%")
        if text == "%":
            return "%%"
        return ""  # an INDEXED BY hint

    return _TRANSLATED.sub(replace, sql)


class PgRow(tuple[Any, ...]):
    """A row read by position or by column name, as sqlite3.Row is."""

    _columns: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._columns[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._columns)


def _rows(cursor: psycopg.Cursor[Any]) -> RowMaker[PgRow]:
    columns = {column.name: index for index, column in enumerate(cursor.description or ())}

    def make(values: Sequence[Any]) -> PgRow:
        row = PgRow(values)
        row._columns = columns
        return row

    return make


class PgConnection:
    """A psycopg connection behind the `Connection` interface the stores use (store/sql.py)."""

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Sequence[Any] = (), /) -> psycopg.Cursor[PgRow]:
        return self.raw.cursor(row_factory=_rows).execute(translate(sql), tuple(parameters))

    def executemany(self, sql: str, parameters: Iterable[Sequence[Any]], /) -> psycopg.Cursor[PgRow]:
        cursor = self.raw.cursor(row_factory=_rows)
        cursor.executemany(translate(sql), [tuple(values) for values in parameters])
        return cursor

    @property
    def in_transaction(self) -> bool:
        import psycopg

        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE


class PostgresDatabase(Database):
    """The shared store: one PostgreSQL database that any number of instances use at once. The writing connection
    and the reader are connections of their own; one that the server dropped (a restart) is opened again at its
    next use outside a transaction, so the daemon carries on once the database is back."""

    dialect: Dialect = "postgresql"

    def __init__(self, url: str, password: str | None = None, *, lease_seconds: float = 60.0) -> None:
        super().__init__()
        self._url = url
        self._password = password
        self.name = redact_url(url)
        self._connection = PgConnection(connect(url, password))
        self._reader: PgConnection | None = None
        self.sharing: Sharing | None = Sharing(self, instance_name(), lease_seconds)

    @property
    def psycopg(self) -> psycopg.Connection[Any]:
        """The writing connection as psycopg's own (for the lease functions, store/leases.py)."""
        self._refuse_outside_the_job()
        connection = self._writer()
        assert isinstance(connection, PgConnection)
        return connection.raw

    def serialize(self, key: str) -> None:
        leases.serialize(self.psycopg, key)

    def _writer(self) -> Connection:
        self._connection = self._usable(self._connection)
        return self._connection

    def _own_reader(self) -> Connection:
        self._reader = self._usable(self._reader)
        return self._reader

    def _usable(self, connection: PgConnection | None) -> PgConnection:
        if connection is not None and not connection.raw.closed:
            return connection
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.raw.close()
        try:
            return PgConnection(connect(self._url, self._password))
        except StoreError as exc:
            raise StoreUnreachable(str(exc)) from exc.__cause__

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """BEGIN ... COMMIT (READ COMMITTED), or ROLLBACK on any exception."""
        self._refuse_outside_the_job()
        connection = self._writer()
        assert isinstance(connection, PgConnection)
        if connection.in_transaction:
            yield connection  # nested use joins the outer transaction, as in SQLite
            return
        with connection.raw.transaction():
            yield connection
        self._wrote()

    def _close_connections(self) -> None:
        for connection in (self._reader, self._connection):
            if connection is not None:
                connection.raw.close()


def open_postgres(url: str, password: str | None = None, *, lease_seconds: float = 60.0) -> PostgresDatabase:
    """Connect and bring the schema to this tocsin's version (waiting for another instance's migration)."""
    db = PostgresDatabase(url, password, lease_seconds=lease_seconds)
    try:
        migrate(db._connection.raw)
    except BaseException:
        db.close()
        raise
    return db
