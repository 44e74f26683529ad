"""Opening the state database: WAL, durability, versioned migrations, one writer at a time."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import re
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, ParamSpec, TypeVar

from tocsin.errors import StorageFailure, StoreError
from tocsin.redaction import redact
from tocsin.store.sql import Connection, Dialect, database_errors

if TYPE_CHECKING:
    from tocsin.store.sharing import Sharing

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger(__name__)

WAL_SIZE_LIMIT = 8 * 1024 * 1024
"""PRAGMA journal_size_limit: a checkpoint that starts the write-ahead log over also cuts its file back to this, so
a burst of writes does not keep the log at its peak size on the state filesystem."""
FREE_SPACE_NEEDED = 2 * WAL_SIZE_LIMIT
"""What a full state filesystem is asked to free: room for the log to grow to its limit, and for the database file
to take in a checkpoint of as much."""

_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def migrations(dialect: Dialect = "sqlite") -> list[tuple[int, str, str]]:
    """(version, file name, SQL) for every migration shipped with the package, in order. PostgreSQL's forms of
    the same versions live in migrations/postgresql/."""
    found = []
    folder = resources.files("tocsin.store").joinpath("migrations")
    if dialect == "postgresql":
        folder = folder.joinpath("postgresql")
    for entry in folder.iterdir():
        name_match = _MIGRATION_NAME.match(entry.name)
        if name_match:
            found.append((int(name_match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    versions = [version for version, _, _ in found]
    if versions != list(range(1, len(versions) + 1)):
        raise StoreError(f"migration numbers must run 1, 2, 3, ... without gaps; found {versions}")
    return found


class Database:
    """The one writing connection to the state store, and the thread that does the heavy work on it; the SQL
    dialect (SQLite here, PostgreSQL in store/postgres.py) is the subclass's, the pipeline and the stages above the
    store use this interface only.

    Used synchronously (the CLI, `tocsin replay`, tests), it is a plain connection. The daemon also runs heavy work
    (ingest, bookkeeping, every commit that can meet a WAL checkpoint) on the database thread with `await run(fn)`,
    so that the event loop never waits for rules, escalation or an fsync. The connection belongs to that thread
    while a job runs: event-loop code that uses it takes `async with turn()` first, which waits for the job, and
    touching it without the turn is refused loudly. Event-loop reads that need no turn (status, health, a feed's
    state before its poll) go through `reader`, a second connection that sees what was committed."""

    dialect: Dialect
    name: str
    """What the store is, for messages: the SQLite file, or the PostgreSQL URL without its secrets."""
    sharing: Sharing | None = None
    """How this instance shares the store with others (PostgreSQL); None when it is the only one (SQLite)."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._thread_id: int | None = None
        self._job_running = False
        self._turn: asyncio.Lock | None = None
        self._turn_holder: asyncio.Task[Any] | None = None
        self.storage_error: str | None = None
        """Why the store cannot write, from a job's failure until a write commits again (a full filesystem, a
        failing disk): /healthz shows it."""
        self._truncate_due = False
        """A write failed for want of room: cut the log back before the next job, once space allows."""

    @property
    def connection(self) -> Connection:
        self._refuse_outside_the_job()
        return self._writer()

    @property
    def reader(self) -> Connection:
        """For reads of committed state from the event loop while the database thread works: a connection of its
        own, so it never joins the thread's transaction nor waits for its statements. Elsewhere (the database
        thread, or before the thread was ever used) it is the writing connection, so a reader sees its own
        caller's uncommitted changes exactly as before."""
        if self._executor is None or threading.get_ident() == self._thread_id:
            return self.connection
        return self._own_reader()

    def _refuse_outside_the_job(self) -> None:
        if self._job_running and threading.get_ident() != self._thread_id:
            raise StoreError(
                "the state database is in use on the database thread; event-loop code must take "
                "`async with db.turn()` before using the connection (or read through `db.reader`)"
            )

    def _writer(self) -> Connection:
        raise NotImplementedError

    def _own_reader(self) -> Connection:
        raise NotImplementedError

    def transaction(self) -> contextlib.AbstractContextManager[Connection]:
        """One transaction, or ROLLBACK on any exception: a state change and the alerts it decided are written
        together or not at all. Nested use joins the outer transaction."""
        raise NotImplementedError

    def serialize(self, key: str) -> None:
        """Inside a transaction: wait for any other instance's transaction working on `key`, and hold it until
        this one ends. SQLite has one writer at a time already (BEGIN IMMEDIATE), so there it does nothing."""

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """Exclusive use of the connection among event-loop tasks and database-thread jobs, in arrival order.
        A task that holds the turn may take it again (and `run` jobs under it)."""
        task = asyncio.current_task()
        if task is not None and task is self._turn_holder:
            yield
            return
        if self._turn is None:
            self._turn = asyncio.Lock()
        async with self._turn:
            self._turn_holder = task
            try:
                yield
            finally:
                self._turn_holder = None

    async def run(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run `work` on the database thread in its turn and return its result; the event loop runs meanwhile.

        A job that started runs to its end (COMMIT or ROLLBACK) even if the caller is cancelled: the turn is given
        back only then, and the cancellation is raised after it."""
        async with self.turn():
            loop = asyncio.get_running_loop()
            self._job_running = True
            job = loop.run_in_executor(self._thread(), self._job, functools.partial(work, *args, **kwargs))
            try:
                return await asyncio.shield(job)
            except asyncio.CancelledError:
                # A job cannot be stopped midway: keep the turn until it has finished, then let the cancellation
                # through. Its transaction committed or rolled back by itself.
                while not job.done():
                    with contextlib.suppress(asyncio.CancelledError):
                        await asyncio.wait({job})
                if not job.cancelled():
                    job.exception()  # retrieved: the cancellation is what the caller asked about
                raise
            finally:
                self._job_running = False

    def _job(self, work: Callable[[], T]) -> T:
        """On the database thread: `work`, the log first cut back if a storage failure asked for it, and a failure
        of the database recorded (a full or failing disk raised as StorageFailure)."""
        if self._truncate_due:
            self._truncate_due = not self._truncate_log()
        try:
            return work()
        except database_errors() as exc:
            failure = self._failed(exc)
            if failure is exc:
                raise
            raise failure from exc

    def _failed(self, exc: Exception) -> Exception:
        """Count a failed job in tocsin_store_errors_total and keep a storage failure in `storage_error` until a
        write commits; returns what to raise (a StorageFailure for a full or failing disk, else `exc`)."""
        # The daemon's registry, imported by the daemon anyway: not by every command that opens the store.
        from tocsin import metrics

        failure = exc if isinstance(exc, StorageFailure) else self.storage_failure(exc)
        metrics.store_errors.labels(failure.kind if failure is not None else "other").inc()
        if failure is None:
            return exc
        if self.storage_error is None:
            log.error("%s", failure)
        self.storage_error = str(failure)
        self._truncate_due = True
        return failure

    def _wrote(self) -> None:
        """A write committed: whatever kept the store from writing is over."""
        if self.storage_error is not None:
            self.storage_error = None
            log.info("%s: the state database is written again", self.name)

    def storage_failure(self, exc: BaseException) -> StorageFailure | None:
        """`exc` as a StorageFailure when it says the store has no room or its disk failed; None otherwise."""
        kind = self._storage_kind(exc)
        return StorageFailure(self._storage_advice(kind, exc), kind=kind) if kind is not None else None

    def _storage_kind(self, exc: BaseException) -> str | None:
        # A server's SQLSTATE: 53100 disk_full, 58030 io_error.
        return {"53100": "full", "58030": "io"}.get(str(getattr(exc, "sqlstate", "")))

    def _storage_advice(self, kind: str, exc: BaseException) -> str:
        if kind == "full":
            return (f"{self.name}: the database server's disk is full ({exc}); free space there, and tocsin "
                    "writes again by itself")
        return f"{self.name}: the database server cannot write to its disk ({exc}); check that disk"

    def _truncate_log(self) -> bool:
        """Cut the write-ahead log back to nothing; True when done (a server store has no log of ours)."""
        return True

    def _thread(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="tocsin-db", initializer=self._remember_thread
            )
        return self._executor

    def _remember_thread(self) -> None:
        self._thread_id = threading.get_ident()

    def close(self) -> None:
        """Wait for the database thread's last job, then close the connections (after the daemon's last use)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True)
        self._close_connections()

    def _close_connections(self) -> None:
        raise NotImplementedError


class SqliteDatabase(Database):
    """The embedded store: one SQLite file in WAL mode, the writing connection and a query-only reader."""

    dialect: Dialect = "sqlite"

    def __init__(self, connection: sqlite3.Connection, path: Path, *, in_memory: bool = False) -> None:
        super().__init__()
        self._connection = connection
        self.path = path
        self.name = str(path)
        self._in_memory = in_memory
        self._reader: sqlite3.Connection | None = None

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The writing connection as the sqlite3 module's own (for the SQLite-only parts: the story index)."""
        self._refuse_outside_the_job()
        return self._connection

    def _writer(self) -> Connection:
        return self._connection

    def _own_reader(self) -> Connection:
        if self._in_memory:
            return self.connection
        if self._reader is None:
            self._reader = _connect(self.path)
            self._reader.execute("PRAGMA query_only=ON")
        return self._reader

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""
        connection = self.sqlite
        if connection.in_transaction:
            # Nested use joins the outer transaction: callers compose without knowing who opened it.
            yield connection
            return
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
            connection.execute("COMMIT")
        except BaseException as exc:
            # After a full disk or an I/O error (in a statement or in the COMMIT) SQLite may have rolled back by
            # itself: ROLLBACK what is still open, and raise the failure as one a person can act on.
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            failure = self.storage_failure(exc)
            if failure is None:
                raise
            raise failure from exc
        self._wrote()

    def _storage_kind(self, exc: BaseException) -> str | None:
        code = getattr(exc, "sqlite_errorcode", None)
        if not isinstance(exc, sqlite3.Error) or code is None:
            return None
        return {sqlite3.SQLITE_FULL: "full", sqlite3.SQLITE_IOERR: "io"}.get(code & 0xFF)

    def _storage_advice(self, kind: str, exc: BaseException) -> str:
        folder = self.path.parent
        if kind == "io":
            return f"{self.path}: the state database cannot be written ({exc}); check the disk holding {folder}"
        try:
            free = os.statvfs(folder)
            available = f"{_mib(free.f_bavail * free.f_frsize)} free"
        except OSError:
            available = "free space unknown"
        return (f"{self.path}: the state filesystem is full ({exc}; {available} on the filesystem holding "
                f"{folder}): free at least {_mib(FREE_SPACE_NEEDED)} there. Polls go on and their items are "
                "taken in once it can write again")

    def _truncate_log(self) -> bool:
        try:
            busy = self._connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except sqlite3.Error:
            return False  # still no room to copy the log into the database
        return not busy

    def _close_connections(self) -> None:
        if self._reader is not None:
            self._reader.close()
        with contextlib.suppress(sqlite3.Error):
            self._connection.execute("PRAGMA optimize")
        self._connection.close()


def open_database(path: Path | str, synchronous: Literal["normal", "full"] = "full") -> SqliteDatabase:
    """Open (creating if needed) and migrate the state database. ":memory:" gives a throwaway one."""
    in_memory = str(path) == ":memory:"
    db_path = Path(path)
    try:
        if not in_memory:
            db_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            _refuse_a_vanished_database(db_path)
            # Feed URLs may carry credentials: the file (and the -wal/-shm files SQLite gives its mode) is 0600.
            os.close(os.open(db_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600))
        connection = _connect(path)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"{path}: cannot open the state database ({exc})") from exc
    try:
        if not in_memory:
            checked = connection.execute("PRAGMA quick_check").fetchone()[0]
            if checked != "ok":
                raise sqlite3.DatabaseError(f"quick_check: {checked}")
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{path}: the filesystem does not support WAL mode (got {mode})")
        connection.execute(f"PRAGMA synchronous={synchronous.upper()}")
        connection.execute("PRAGMA foreign_keys=ON")
        connection.execute("PRAGMA busy_timeout=10000")
        connection.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        # 32 MiB of page cache (the default is 2 MiB): the story index and seen items are random-access B-trees,
        # and at 100k items in the story window the default cache made every insert a page miss.
        connection.execute("PRAGMA cache_size=-32768")
        _migrate(connection, path)
        if not in_memory:
            _existence_marker(db_path).touch(mode=0o600)
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise StoreError(f"{path}: the state database is unusable ({exc}); restore a backup or move it away") from exc
    return SqliteDatabase(connection, db_path, in_memory=in_memory)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MiB"


def _existence_marker(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".exists")


def _refuse_a_vanished_database(db_path: Path) -> None:
    """An empty or missing file where a database was opened before is damage, not a first start: treated as new,
    its history would be gone and backfilled feeds would send their alerts again."""
    marker = _existence_marker(db_path)
    if marker.exists() and (not db_path.exists() or db_path.stat().st_size == 0):
        raise StoreError(
            f"{db_path}: the state database is {'empty' if db_path.exists() else 'missing'}, yet one existed here "
            f"({marker} says so); restore it from a backup, or delete {marker} to start with no history"
        )


MAX_ERROR_CHARS = 1000


def stored_text(text: str) -> str:
    """An error or warning as the state database keeps it: secrets masked (a receiver or a feed may echo a token
    or a password back), at most MAX_ERROR_CHARS. Every error and warning column is written through this."""
    return redact(text)[:MAX_ERROR_CHARS]


def stamp(when: datetime) -> float:
    """A time as the state database keeps every time: Unix seconds (UTC) as REAL (migration 0007)."""
    return when.timestamp()


def moment(value: float | None) -> datetime | None:
    """The aware UTC time of a stored `stamp` (None stays None)."""
    return datetime.fromtimestamp(value, UTC) if value is not None else None


def chunks(values: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`values` in slices of at most `size`: one statement's bound parameters, or one transaction's rows."""
    for start in range(0, len(values), size):
        yield values[start:start + size]


def _connect(path: Path | str) -> sqlite3.Connection:
    # check_same_thread=False: the connection is handed between the event loop and the database thread, never
    # used by both at once (Database.turn).
    connection = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=10.0)
    connection.row_factory = sqlite3.Row
    return connection


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
