"""The story index: which stories in the window share a MinHash band or a place with a new report.

Each dialect keeps it where lookups are cheapest and other writers' stories are seen:
- SQLite: TEMP tables of the state connection, in memory, filled from `stories` the first time the connection is
  used here and again after another connection wrote to the file (PRAGMA data_version). A lookup never reads a
  random page of the state file, a new story writes no random index pages to it, and since TEMP tables belong to
  the connection's transaction, a rollback takes back their changes together with everything else (even their
  creation: the next use fills them again).
- PostgreSQL: a `story_postings` table of the shared database (migration 0009), so a story another instance
  committed is a candidate at once; two instances placing reports of one event are serialized by the caller.
Both answer the same question the same way: per key, its newest POSTINGS_PER_KEY stories, of those the ones
first reported in the window."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from tocsin.store import Database
from tocsin.store.db import SqliteDatabase

POSTINGS_PER_KEY = 8
"""Newest stories looked at per index key: bounds the work for a common place such as a capital."""

Candidate = tuple[int, str, str, str, str]
"""(story rowid, words, entities, numbers, tags) as stored."""


class StoryIndex:
    """Lookups and upkeep of the index; the story rows themselves are the caller's (escalate/stories.py)."""

    def candidates(self, keys: Sequence[int], window_start: int) -> list[Candidate]:
        raise NotImplementedError

    def add(self, story: int, first_at: int, parts: tuple[str, str, str, str], keys: Sequence[int]) -> None:
        """A story just inserted, with its comparison columns and index keys."""
        raise NotImplementedError

    def lost(self, story: int) -> None:
        """The index listed a story that is gone from `stories`: forget it."""
        raise NotImplementedError

    def prune(self, before: int) -> int:
        """Delete the stories first reported before `before` with their postings; returns how many."""
        raise NotImplementedError


def story_index(db: Database) -> StoryIndex:
    if isinstance(db, SqliteDatabase):
        return SqliteStoryIndex(db)
    return SharedStoryIndex(db)


_TEMP_MEMORY = 2
"""PRAGMA temp_store value for memory."""

# `story` is the story's rowid in the state file's `stories` table; rowids grow with time, so the newest postings of
# a key are its largest. `story_index_version` holds the state file's data_version the index was filled at (taken
# first: a commit by another connection during a fill outside a transaction then makes the next use fill again).
_INDEX_SCHEMA = (
    "CREATE TEMP TABLE story_index_version (data_version INTEGER NOT NULL)",
    "INSERT INTO temp.story_index_version SELECT data_version FROM pragma_data_version",
    "CREATE TEMP TABLE story_candidates (story INTEGER PRIMARY KEY, first_at INTEGER NOT NULL, words TEXT NOT NULL, "
    "entities TEXT NOT NULL, numbers TEXT NOT NULL, tags TEXT NOT NULL)",
    "CREATE TEMP TABLE story_postings (key INTEGER NOT NULL, story INTEGER NOT NULL, PRIMARY KEY (key, story)) "
    "WITHOUT ROWID",
    "INSERT INTO temp.story_candidates SELECT rowid, first_at, words, entities, numbers, tags FROM main.stories",
    "INSERT OR IGNORE INTO temp.story_postings SELECT key.value, stories.rowid "
    "FROM main.stories AS stories, json_each(stories.index_keys) AS key",
)
_INDEX_TABLES = ("story_index_version", "story_candidates", "story_postings")
_INDEX_IS_CURRENT = (
    "SELECT count(*) FROM temp.story_index_version WHERE data_version = (SELECT data_version FROM pragma_data_version)"
)
# One statement for any number of keys (a report naming 70 places under 7 tags has over 500; SQLite allows 500 terms
# in a compound SELECT, so one UNION term per key does not scale): per key, its postings from its POSTINGS_PER_KEY-th
# newest on (all of them when it has fewer), both found by a seek in the (key, story) primary key.
_SQLITE_CANDIDATES = (
    "SELECT story, words, entities, numbers, tags FROM temp.story_candidates WHERE story IN ("
    "SELECT posting.story FROM json_each(?1) AS key JOIN temp.story_postings AS posting ON posting.key = key.value "
    "AND posting.story >= coalesce((SELECT story FROM temp.story_postings WHERE key = key.value ORDER BY story DESC "
    f"LIMIT 1 OFFSET {POSTINGS_PER_KEY - 1}), 0)) AND first_at >= ?2 ORDER BY story"
)


class SqliteStoryIndex(StoryIndex):
    def __init__(self, db: SqliteDatabase) -> None:
        self.db = db
        connection = db.sqlite
        if not connection.in_transaction and connection.execute("PRAGMA temp_store").fetchone()[0] != _TEMP_MEMORY:
            # TEMP tables in memory rather than in a temporary file behind a 2 MiB cache. SQLite allows the change
            # only outside a transaction (it drops TEMP tables, which the next use fills again).
            connection.execute("PRAGMA temp_store = MEMORY")

    def candidates(self, keys: Sequence[int], window_start: int) -> list[Candidate]:
        cursor = self.db.sqlite.cursor()
        cursor.row_factory = None  # plain tuples: a few dozen rows per report
        _current_index(cursor.connection)
        return cursor.execute(_SQLITE_CANDIDATES, (json_keys(keys), window_start)).fetchall()

    def add(self, story: int, first_at: int, parts: tuple[str, str, str, str], keys: Sequence[int]) -> None:
        connection = self.db.sqlite
        connection.execute("INSERT INTO temp.story_candidates VALUES (?, ?, ?, ?, ?, ?)", (story, first_at, *parts))
        connection.executemany(
            "INSERT OR IGNORE INTO temp.story_postings (key, story) VALUES (?, ?)", [(key, story) for key in keys]
        )

    def lost(self, story: int) -> None:
        self.db.sqlite.execute("DELETE FROM temp.story_candidates WHERE story = ?", (story,))
        self.db.sqlite.execute("DELETE FROM temp.story_index_version")  # the next use fills the index again

    def prune(self, before: int) -> int:
        connection = self.db.sqlite
        _current_index(connection)
        expired = connection.execute(
            "SELECT rowid, index_keys FROM main.stories WHERE first_at < ?", (before,)
        ).fetchall()
        connection.executemany(
            "DELETE FROM temp.story_postings WHERE key = ? AND story = ?",
            [(key, story) for story, keys in expired for key in json.loads(keys)],
        )
        stories = [(story,) for story, _ in expired]
        connection.executemany("DELETE FROM temp.story_candidates WHERE story = ?", stories)
        connection.executemany("DELETE FROM main.stories WHERE rowid = ?", stories)
        return len(expired)


def json_keys(keys: Sequence[int]) -> str:
    return f"[{','.join(map(str, keys))}]"


def _current_index(connection: sqlite3.Connection) -> None:
    """Make the connection's in-memory index match the state file: fill it on the connection's first use here (or
    when a rollback took back its creation), and fill it again when another connection has committed to the file
    since (`tocsin silence` beside the daemon, a restored backup; a second `tocsin run` is refused by the state
    directory's lock), so that stories started or pruned there are seen here. Every Stories on one connection
    shares the index, so they stay consistent with each other.

    The check costs one statement per use. `data_version` changes only with other connections' commits, and a
    filled index is current until then: this connection's own changes go to both the file and the index. Another
    connection's changes are rare (a run, a command), so filling the whole index again (about 1 s at 100,000
    stories) is simpler than finding what changed."""
    try:
        if connection.execute(_INDEX_IS_CURRENT).fetchone()[0]:
            return
    except sqlite3.OperationalError as exc:
        if "no such table: temp.story_" not in str(exc):
            raise
    for table in _INDEX_TABLES:
        connection.execute(f"DROP TABLE IF EXISTS temp.{table}")
    for statement in _INDEX_SCHEMA:
        connection.execute(statement)


# Per key (an unnested array), its newest POSTINGS_PER_KEY postings by an index seek; then the window.
_SHARED_CANDIDATES = (
    "SELECT stories.rowid, words, entities, numbers, tags FROM stories WHERE stories.rowid IN ("
    "SELECT posting.story FROM unnest(?::bigint[]) AS wanted(key) CROSS JOIN LATERAL ("
    "SELECT story FROM story_postings WHERE story_postings.key = wanted.key ORDER BY story DESC "
    f"LIMIT {POSTINGS_PER_KEY}) AS posting) AND first_at >= ? ORDER BY stories.rowid"
)


class SharedStoryIndex(StoryIndex):
    def __init__(self, db: Database) -> None:
        self.db = db

    def candidates(self, keys: Sequence[int], window_start: int) -> list[Candidate]:
        rows = self.db.connection.execute(_SHARED_CANDIDATES, (list(keys), window_start)).fetchall()
        return [tuple(row) for row in rows]

    def add(self, story: int, first_at: int, parts: tuple[str, str, str, str], keys: Sequence[int]) -> None:
        self.db.connection.execute(
            "INSERT INTO story_postings (key, story) SELECT DISTINCT unnest(?::bigint[]), ? ON CONFLICT DO NOTHING",
            (list(keys), story),
        )

    def lost(self, story: int) -> None:
        """Nothing to forget: a story's postings are deleted with it (ON DELETE CASCADE)."""

    def prune(self, before: int) -> int:
        return self.db.connection.execute("DELETE FROM stories WHERE first_at < ?", (before,)).rowcount
