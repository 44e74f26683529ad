"""Stories: reports of one event from several outlets, in different words, within a window, are one story.

A report joins the best-scoring story first reported within `story_window` whose score reaches
`story_similarity`; candidates come from an inverted index (MinHash bands and places, newest postings first, a
bounded number per key), so the cost per report does not grow with the number of stories in the window.
A report from an outlet already in the story, or a near-verbatim copy of another outlet's report (wire copy), does
not add an independent source.

Storage is shaped for a large window: story ids start with the first report's time, so new stories append to the
table instead of landing on random pages, and the rules fired and the reports compared live in the story's own
row, which a report touches anyway.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from daemon.config.escalation import EscalationConfig
from daemon.escalate.fingerprint import PERMUTATIONS, Fingerprint, pack, similarity, unpack
from daemon.items import Item, content_hash
from daemon.store import Database

POSTINGS_PER_KEY = 8
"""Newest stories looked at per index key: bounds the work for a common place such as a capital."""
REPORTS_COMPARED = 32
"""Reports of a story compared with a new one to spot wire copies; later reports are counted, not kept."""
_SIGNATURE_BYTES = 4 * PERMUTATIONS


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

    def place(self, item: Item, fingerprint: Fingerprint, now: datetime) -> Placement:
        """Attach the report to its story, or start one."""
        stamp = int(now.timestamp())
        window_start = int((now - self.config.story_window).timestamp())
        keys = fingerprint.index_keys()
        best: tuple[float, str] | None = None
        for row in self._candidates(keys, window_start):
            score = fingerprint.score(
                _split(row["words"]), _split(row["entities"]), _split(row["numbers"]), _split(row["tags"])
            )
            if score >= self.config.story_similarity and (best is None or score > best[0]):
                best = (score, row["id"])
        if best is None:
            return self._start(item, fingerprint, keys, stamp)
        return self._attach(best[1], item.feed, fingerprint, stamp)

    def fired(self, story_id: str, rules: frozenset[str]) -> None:
        """Remember every rule that has alerted for the story (a rule fires once per story)."""
        self.db.connection.execute("UPDATE stories SET rules = ? WHERE id = ?", (_join(rules), story_id))

    def prune(self, before: datetime) -> int:
        """Forget stories first reported before `before` (no report can join them any more)."""
        stamp = int(before.timestamp())
        self.db.connection.execute("DELETE FROM story_keys WHERE first_at < ?", (stamp,))
        return self.db.connection.execute("DELETE FROM stories WHERE first_at < ?", (stamp,)).rowcount

    def _candidates(self, keys: list[int], window_start: int) -> list[sqlite3.Row]:
        """Stories in the window posted under any of the keys, the newest POSTINGS_PER_KEY per key, in one query."""
        postings = " UNION ".join(
            "SELECT story_id FROM (SELECT story_id FROM story_keys WHERE key = ? AND first_at >= ? "
            "ORDER BY first_at DESC LIMIT ?)"
            for _ in keys
        )
        return self.db.connection.execute(
            f"SELECT id, words, entities, numbers, tags FROM stories WHERE id IN ({postings}) ORDER BY id",
            [value for key in keys for value in (key, window_start, POSTINGS_PER_KEY)],
        ).fetchall()

    def _attach(self, story_id: str, feed: str, fingerprint: Fingerprint, stamp: int) -> Placement:
        story = self.db.connection.execute(
            "SELECT title, sources, reports, report_feeds, report_signatures, rules FROM stories WHERE id = ?",
            (story_id,),
        ).fetchone()
        feeds = _split(story["report_feeds"])
        signatures = story["report_signatures"]
        new_source = feed not in feeds and all(
            similarity(fingerprint.signature, unpack(signatures[start : start + _SIGNATURE_BYTES]))
            < self.config.wire_copy_similarity
            for start in range(0, len(signatures), _SIGNATURE_BYTES)
        )
        sources = story["sources"] + int(new_source)
        if len(feeds) < REPORTS_COMPARED:
            feeds.append(feed)
            signatures += pack(fingerprint.signature)
        self.db.connection.execute(
            "UPDATE stories SET last_at = ?, sources = ?, reports = reports + 1, report_feeds = ?, "
            "report_signatures = ? WHERE id = ?",
            (stamp, sources, "\n".join(feeds), signatures, story_id),
        )
        return Placement(story_id, story["title"], created=False, sources=sources, new_source=new_source,
                         fired=frozenset(_split(story["rules"])))

    def _start(self, item: Item, fingerprint: Fingerprint, keys: list[int], stamp: int) -> Placement:
        story_id = f"sty_{stamp:010x}{content_hash('story', item.id_key)[:10]}"
        connection = self.db.connection
        connection.execute(
            "INSERT INTO stories (id, first_at, last_at, title, words, entities, numbers, tags, report_feeds, "
            "report_signatures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                story_id, stamp, stamp, item.title, _join(fingerprint.words), _join(fingerprint.entities),
                _join(fingerprint.numbers), _join(fingerprint.tags), item.feed, pack(fingerprint.signature),
            ),
        )
        connection.executemany(
            "INSERT OR IGNORE INTO story_keys (key, first_at, story_id) VALUES (?, ?, ?)",
            [(key, stamp, story_id) for key in keys],
        )
        return Placement(story_id, item.title, created=True, sources=1, new_source=True, fired=frozenset())
