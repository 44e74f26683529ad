"""Stories: reports of one event from several outlets, in different words, within a window, are one story.

A report joins the best-scoring story first reported within `story_window` whose score reaches
`story_similarity`; candidates come from an inverted index (MinHash bands and entity names, newest postings
first, a bounded number per key), so the cost per report does not grow with the number of stories in the window.
A report from an outlet already in the story, or a near-verbatim copy of another outlet's report (wire copy), does
not add an independent source.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from daemon.config.escalation import EscalationConfig
from daemon.escalate.fingerprint import Fingerprint, pack, similarity, unpack
from daemon.items import Item, content_hash
from daemon.store import Database

POSTINGS_PER_KEY = 8
"""Newest stories looked at per index key: bounds the work for a common place such as a capital."""
REPORTS_COMPARED = 32
"""Reports of a story compared with a new one to spot wire copies; later reports are counted, not stored."""


def _join(values: frozenset[str]) -> str:
    # Newline-separated: no value holds one (words are \w+, names come from the gazetteer), and splitting is
    # cheaper than JSON for the dozens of candidates read per report.
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


class Stories:
    def __init__(self, db: Database, config: EscalationConfig) -> None:
        self.db = db
        self.config = config

    def place(self, item: Item, fingerprint: Fingerprint, now: datetime) -> Placement:
        """Attach the report to its story, or start one."""
        stamp = int(now.timestamp())
        window_start = int((now - self.config.story_window).timestamp())
        keys = fingerprint.index_keys()
        best: tuple[float, sqlite3.Row] | None = None
        for row in self._candidates(keys, window_start):
            score = fingerprint.score(
                _split(row["words"]), _split(row["entities"]), _split(row["numbers"]), _split(row["tags"])
            )
            if score >= self.config.story_similarity and (best is None or score > best[0]):
                best = (score, row)
        if best is None:
            return self._start(item, fingerprint, keys, stamp)
        story = best[1]
        new_source = self._independent(story["id"], item.feed, fingerprint)
        sources = story["sources"] + int(new_source)
        self.db.connection.execute(
            "UPDATE stories SET last_at = ?, sources = ?, reports = reports + 1 WHERE id = ?",
            (stamp, sources, story["id"]),
        )
        if story["reports"] < REPORTS_COMPARED:
            self._add_report(story["id"], item.feed, fingerprint, stamp)
        return Placement(story["id"], story["title"], created=False, sources=sources, new_source=new_source)

    def first_alert(self, story_id: str, rule: str) -> bool:
        """True the first time a rule fires for a story (and remembers it)."""
        cursor = self.db.connection.execute(
            "INSERT OR IGNORE INTO story_rules (story_id, rule) VALUES (?, ?)", (story_id, rule)
        )
        return cursor.rowcount == 1

    def prune(self, before: datetime) -> int:
        """Forget stories first reported before `before` (no report can join them any more)."""
        stamp = int(before.timestamp())
        connection = self.db.connection
        old = "SELECT id FROM stories WHERE first_at < ?"
        for table in ("story_keys", "story_reports", "story_rules"):
            connection.execute(f"DELETE FROM {table} WHERE story_id IN ({old})", (stamp,))
        return connection.execute("DELETE FROM stories WHERE first_at < ?", (stamp,)).rowcount

    def _candidates(self, keys: list[int], window_start: int) -> list[sqlite3.Row]:
        """Stories in the window posted under any of the keys, the newest POSTINGS_PER_KEY per key, in one query."""
        postings = " UNION ".join(
            "SELECT story_id FROM (SELECT story_id FROM story_keys WHERE key = ? AND first_at >= ? "
            "ORDER BY first_at DESC LIMIT ?)"
            for _ in keys
        )
        return self.db.connection.execute(
            "SELECT id, title, words, entities, numbers, tags, sources, reports FROM stories "
            f"WHERE id IN ({postings}) ORDER BY first_at, id",
            [value for key in keys for value in (key, window_start, POSTINGS_PER_KEY)],
        ).fetchall()

    def _independent(self, story_id: str, feed: str, fingerprint: Fingerprint) -> bool:
        for row in self.db.connection.execute(
            "SELECT feed, signature FROM story_reports WHERE story_id = ? LIMIT ?", (story_id, REPORTS_COMPARED)
        ):
            if row["feed"] == feed:
                return False
            if similarity(fingerprint.signature, unpack(row["signature"])) >= self.config.wire_copy_similarity:
                return False
        return True

    def _start(self, item: Item, fingerprint: Fingerprint, keys: list[int], stamp: int) -> Placement:
        story_id = "sty_" + content_hash("story", item.id_key, str(stamp))[:20]
        connection = self.db.connection
        connection.execute(
            "INSERT INTO stories (id, first_at, last_at, title, words, signature, entities, numbers, tags) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                story_id, stamp, stamp, item.title, _join(fingerprint.words), pack(fingerprint.signature),
                _join(fingerprint.entities), _join(fingerprint.numbers), _join(fingerprint.tags),
            ),
        )
        connection.executemany(
            "INSERT OR IGNORE INTO story_keys (key, first_at, story_id) VALUES (?, ?, ?)",
            [(key, stamp, story_id) for key in keys],
        )
        self._add_report(story_id, item.feed, fingerprint, stamp)
        return Placement(story_id, item.title, created=True, sources=1, new_source=True)

    def _add_report(self, story_id: str, feed: str, fingerprint: Fingerprint, stamp: int) -> None:
        self.db.connection.execute(
            "INSERT INTO story_reports (story_id, feed, signature, at) VALUES (?, ?, ?, ?)",
            (story_id, feed, pack(fingerprint.signature), stamp),
        )
