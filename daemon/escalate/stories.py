"""Stories: reports of one event from several outlets, in different words, within a window, are one story.

A report joins the best-scoring story first reported within `story_window` whose score reaches
`story_similarity`; candidates come from an inverted index (MinHash bands and places, newest postings first, a
bounded number per key), so the cost per report does not grow with the number of stories in the window.
A report from an outlet already in the story, or a near-verbatim copy of another outlet's report (wire copy), does
not add an independent source.

Storage is shaped for a large window. The `stories` table holds everything about a story and is only appended to
(ids start with the first report's time) and updated on recent rows; what a candidate lookup reads is the story
index (escalate/story_index.py), kept where each store dialect serves it best.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from tocsin.config.escalation import EscalationConfig
from tocsin.escalate.fingerprint import PERMUTATIONS, Fingerprint, pack, similarity, unpack
from tocsin.escalate.story_index import json_keys, story_index
from tocsin.items import Item, content_hash
from tocsin.store import Database

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
        self.index = story_index(db)

    def place(self, item: Item, fingerprint: Fingerprint, rules: frozenset[str], now: datetime) -> Placement:
        """Attach the report to its story, or start one; `rules` (those that matched the report) are remembered
        as fired for the story (a rule fires once per story)."""
        stamp = int(now.timestamp())
        window_start = int((now - self.config.story_window).timestamp())
        keys = fingerprint.index_keys()
        joinable: list[tuple[float, int]] = []
        for story, words, entities, numbers, tags in self.index.candidates(keys, window_start):
            score = fingerprint.score(_split(words), _split(entities), _split(numbers), _split(tags))
            if score >= self.config.story_similarity:
                joinable.append((-score, story))
        for _, story in sorted(joinable):  # best first; of equal scores the oldest story
            placement = self._attach(story, item.feed, fingerprint, rules, stamp)
            if placement is not None:
                return placement
        return self._start(item, fingerprint, keys, rules, stamp)

    def prune(self, before: datetime) -> int:
        """Forget stories first reported before `before` (no report can join them any more)."""
        return self.index.prune(int(before.timestamp()))

    def _attach(self, story: int, feed: str, fingerprint: Fingerprint, rules: frozenset[str],
                stamp: int) -> Placement | None:
        """The report added to the story; None when the story is gone from the state file though the index lists it
        (not expected: the index follows every commit; should it happen, the index forgets it)."""
        row = self.db.connection.execute(
            "SELECT id, title, sources, report_feeds, report_signatures, rules FROM stories WHERE rowid = ?",
            (story,),
        ).fetchone()
        if row is None:
            self.index.lost(story)
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
            "UPDATE stories SET last_at = ?, sources = ?, reports = reports + 1, report_feeds = ?, "
            "report_signatures = ?, rules = ? WHERE rowid = ?",
            (stamp, sources, "\n".join(feeds), signatures, _join(fired | rules), story),
        )
        return Placement(row["id"], row["title"], created=False, sources=sources, new_source=new_source,
                         fired=fired)

    def _start(self, item: Item, fingerprint: Fingerprint, keys: Sequence[int], rules: frozenset[str],
               stamp: int) -> Placement:
        story_id = f"sty_{stamp:010x}{content_hash('story', item.id_key)[:10]}"
        connection = self.db.connection
        parts = (_join(fingerprint.words), _join(fingerprint.entities), _join(fingerprint.numbers),
                 _join(fingerprint.tags))
        story = int(connection.execute(
            "INSERT INTO stories (id, first_at, last_at, title, words, entities, numbers, tags, index_keys, "
            "report_feeds, report_signatures, rules) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING rowid",
            (story_id, stamp, stamp, item.title, *parts, json_keys(keys), item.feed,
             pack(fingerprint.signature), _join(rules)),
        ).fetchone()[0])
        self.index.add(story, stamp, parts, keys)
        return Placement(story_id, item.title, created=True, sources=1, new_source=True, fired=frozenset())

