"""Stories: reports of one event from several outlets, in different words, within a window, are one story.

A report joins the best-scoring story first reported within `story_window` whose score reaches
`story_similarity`; candidates come from an inverted index (MinHash bands and places, newest postings first, a
bounded number per key), so the cost per report does not grow with the number of stories in the window.
A report from an outlet already in the story, or a near-verbatim copy of another outlet's report (wire copy), does
not add an independent source.

Storage is shaped for a large window. The `stories` table in the state file holds everything about a story and is
only appended to (ids start with the first report's time) and updated on recent rows. What a candidate lookup
reads - the index postings and the few columns a comparison needs - lives in TEMP tables of the same connection,
held in memory and filled from `stories` the first time the connection is used here, and again after another
connection wrote to the file (PRAGMA data_version): a lookup never reads a random page of the state file, a new
story writes no random index pages to it, and since TEMP tables belong to the connection's transaction, a rollback
takes back their changes together with everything else (even their creation: the next use fills them again).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from tocsin.config.escalation import EscalationConfig
from tocsin.escalate.fingerprint import PERMUTATIONS, Fingerprint, pack, similarity, unpack
from tocsin.items import Item, content_hash
from tocsin.store import Database

POSTINGS_PER_KEY = 8
"""Newest stories looked at per index key: bounds the work for a common place such as a capital."""
REPORTS_COMPARED = 32
"""Reports of a story compared with a new one to spot wire copies; later reports are counted, not kept."""
_SIGNATURE_BYTES = 4 * PERMUTATIONS
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
_CANDIDATES = (
    "SELECT story, words, entities, numbers, tags FROM temp.story_candidates WHERE story IN ("
    "SELECT posting.story FROM json_each(?1) AS key JOIN temp.story_postings AS posting ON posting.key = key.value "
    "AND posting.story >= coalesce((SELECT story FROM temp.story_postings WHERE key = key.value ORDER BY story DESC "
    f"LIMIT 1 OFFSET {POSTINGS_PER_KEY - 1}), 0)) AND first_at >= ?2 ORDER BY story"
)


def _join(values: frozenset[str]) -> str:
    # Newline-separated: no value holds one (words are \w+, names come from the gazetteer, rule ids from rule
    # files), and splitting is cheaper than JSON for the dozens of candidates read per report.
    return "\n".join(sorted(values))


def _split(text: str) -> list[str]:
    return text.split("\n") if text else []


@dataclass(frozen=True, slots=True)
class Placement:
    story_id: str
    title: str
    """The story's first headline."""
    created: bool
    sources: int
    """Independent sources after this report."""
    new_source: bool
    fired: frozenset[str]
    """Rules that already alerted for the story."""


class Stories:
    def __init__(self, db: Database, config: EscalationConfig) -> None:
        self.db = db
        self.config = config
        connection = db.connection
        if not connection.in_transaction and connection.execute("PRAGMA temp_store").fetchone()[0] != _TEMP_MEMORY:
            # TEMP tables in memory rather than in a temporary file behind a 2 MiB cache. SQLite allows the change
            # only outside a transaction (it drops TEMP tables, which the next use fills again).
            connection.execute("PRAGMA temp_store = MEMORY")

    def place(self, item: Item, fingerprint: Fingerprint, rules: frozenset[str], now: datetime) -> Placement:
        """Attach the report to its story, or start one; `rules` (those that matched the report) are remembered
        as fired for the story (a rule fires once per story)."""
        stamp = int(now.timestamp())
        window_start = int((now - self.config.story_window).timestamp())
        keys = fingerprint.index_keys()
        index_keys = f"[{','.join(map(str, keys))}]"  # a JSON array: queried and refilled from in SQL
        joinable: list[tuple[float, int]] = []
        for story, words, entities, numbers, tags in self._candidates(index_keys, window_start):
            score = fingerprint.score(_split(words), _split(entities), _split(numbers), _split(tags))
            if score >= self.config.story_similarity:
                joinable.append((-score, story))
        for _, story in sorted(joinable):  # best first; of equal scores the oldest story
            placement = self._attach(story, item.feed, fingerprint, rules, stamp)
            if placement is not None:
                return placement
        return self._start(item, fingerprint, index_keys, rules, stamp)

    def prune(self, before: datetime) -> int:
        """Forget stories first reported before `before` (no report can join them any more)."""
        connection = self.db.connection
        _current_index(connection)
        expired = connection.execute(
            "SELECT rowid, index_keys FROM main.stories WHERE first_at < ?", (int(before.timestamp()),)
        ).fetchall()
        connection.executemany(
            "DELETE FROM temp.story_postings WHERE key = ? AND story = ?",
            [(key, story) for story, keys in expired for key in json.loads(keys)],
        )
        stories = [(story,) for story, _ in expired]
        connection.executemany("DELETE FROM temp.story_candidates WHERE story = ?", stories)
        connection.executemany("DELETE FROM main.stories WHERE rowid = ?", stories)
        return len(expired)

    def _candidates(self, index_keys: str, window_start: int) -> list[tuple[int, str, str, str, str]]:
        """Stories in the window posted under any of the keys (a JSON array), the newest POSTINGS_PER_KEY per key."""
        cursor = self.db.connection.cursor()
        cursor.row_factory = None  # plain tuples: a few dozen rows per report
        _current_index(cursor.connection)
        return cursor.execute(_CANDIDATES, (index_keys, window_start)).fetchall()

    def _attach(self, story: int, feed: str, fingerprint: Fingerprint, rules: frozenset[str],
                stamp: int) -> Placement | None:
        """The report added to the story; None when the story is gone from the state file though the index lists it
        (not expected: the index follows every commit to the file; should it happen, the index is filled again)."""
        row = self.db.connection.execute(
            "SELECT id, title, sources, report_feeds, report_signatures, rules FROM main.stories WHERE rowid = ?",
            (story,),
        ).fetchone()
        if row is None:
            self.db.connection.execute("DELETE FROM temp.story_candidates WHERE story = ?", (story,))
            self.db.connection.execute("DELETE FROM temp.story_index_version")  # the next use fills the index again
            return None
        feeds = _split(row["report_feeds"])
        signatures = row["report_signatures"]
        new_source = feed not in feeds and all(
            similarity(fingerprint.signature, unpack(signatures[start : start + _SIGNATURE_BYTES]))
            < self.config.wire_copy_similarity
            for start in range(0, len(signatures), _SIGNATURE_BYTES)
        )
        sources = row["sources"] + int(new_source)
        if len(feeds) < REPORTS_COMPARED:
            feeds.append(feed)
            signatures += pack(fingerprint.signature)
        fired = frozenset(_split(row["rules"]))
        self.db.connection.execute(
            "UPDATE main.stories SET last_at = ?, sources = ?, reports = reports + 1, report_feeds = ?, "
            "report_signatures = ?, rules = ? WHERE rowid = ?",
            (stamp, sources, "\n".join(feeds), signatures, _join(fired | rules), story),
        )
        return Placement(row["id"], row["title"], created=False, sources=sources, new_source=new_source,
                         fired=fired)

    def _start(self, item: Item, fingerprint: Fingerprint, index_keys: str, rules: frozenset[str],
               stamp: int) -> Placement:
        story_id = f"sty_{stamp:010x}{content_hash('story', item.id_key)[:10]}"
        connection = self.db.connection
        parts = (_join(fingerprint.words), _join(fingerprint.entities), _join(fingerprint.numbers),
                 _join(fingerprint.tags))
        story = connection.execute(
            "INSERT INTO main.stories (id, first_at, last_at, title, words, entities, numbers, tags, index_keys, "
            "report_feeds, report_signatures, rules) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (story_id, stamp, stamp, item.title, *parts, index_keys, item.feed, pack(fingerprint.signature),
             _join(rules)),
        ).lastrowid
        connection.execute("INSERT INTO temp.story_candidates VALUES (?, ?, ?, ?, ?, ?)", (story, stamp, *parts))
        connection.execute(
            "INSERT OR IGNORE INTO temp.story_postings (key, story) SELECT value, ? FROM json_each(?)",
            (story, index_keys),
        )
        return Placement(story_id, item.title, created=True, sources=1, new_source=True, fired=frozenset())


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
