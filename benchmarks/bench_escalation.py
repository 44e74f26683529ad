"""Escalation cost as state grows: matches per second with 100,000 items in the story window, and memory.

The window is filled with 100,000 matched items (distinct stories over 500 places, the seven default tags, the default
escalation rules), 40 hours apart at most so all are inside the 48 h window. Then a further batch is timed: a third of
it re-reports of recent stories in other words (they join them), the rest new stories, in transactions of 50 items as
the pipeline commits one feed at a time, and then one roundup naming 70 places under all seven tags (546 index keys,
more terms than SQLite allows in one compound SELECT). Memory is the process RSS after filling half and all of the
window: the story index and the columns a candidate comparison reads are held in memory (SQLite TEMP tables, about 0.4
KB per story), so memory grows with the stories in the window and is bounded by it (pruned with it); everything else
lives in the state file. Target: at least 2,000 matches/s.
"""

from __future__ import annotations

import random
import resource
import tempfile
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks import Result, median_result, result, standalone
from benchmarks.measure import REPO
from tocsin.clock import SimulatedClock
from tocsin.config.escalation import EscalationConfig
from tocsin.escalate import Escalation
from tocsin.escalate.rules import load_escalation_rules
from tocsin.items import Item
from tocsin.matching.model import Match
from tocsin.severity import Severity
from tocsin.store import Database, open_database

NAME = "escalation"
TAGS = ("buildup", "deadline", "shootdown", "casualties", "displacement", "territorial", "strike")
START = datetime(2020, 2, 1, tzinfo=UTC)
BATCH = 50
RECENT = 2000


class Corpus:
    """Synthetic reports: random words from a 5,000-word vocabulary, one match each."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.vocabulary = [f"w{n}" for n in range(5000)]
        self.places = [f"Place{n}" for n in range(500)]
        self.actors = [f"Actor{n}" for n in range(50)]
        self.recent: deque[tuple[Item, Match]] = deque(maxlen=RECENT)
        """Reports rewordings are drawn from; bounded so the benchmark's own memory does not grow."""

    def new(self, number: int) -> tuple[Item, Match]:
        pick = self.random.sample
        title = " ".join(pick(self.vocabulary, 8))
        summary = " ".join(pick(self.vocabulary, 25))
        item = Item(id=f"n{number}", feed=f"feed{number % 40}", title=title, link=f"https://x.example/{number}",
                    published=None, summary=summary)
        tag = self.random.choice(TAGS)
        found = Match(rule=f"{tag}-rule", title=tag, severity=Severity.HIGH, tags=(tag,),
                      places=(self.random.choice(self.places),), actors=(self.random.choice(self.actors),))
        self.recent.append((item, found))
        return item, found

    def rewording(self, number: int) -> tuple[Item, Match]:
        """A report of a recent story by another outlet: most key words kept, some replaced."""
        original, found = self.recent[-self.random.randint(1, len(self.recent))]
        kept = original.text.split()
        for index in self.random.sample(range(len(kept)), 8):
            kept[index] = self.random.choice(self.vocabulary)
        item = Item(id=f"r{number}", feed=f"feed{(number + 7) % 40}", title=" ".join(kept[:8]),
                    link=f"https://y.example/{number}", published=None, summary=" ".join(kept[8:]))
        return item, found


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fill(stage: Escalation, db: Database, clock: SimulatedClock, corpus: Corpus, count: int, span: timedelta) -> None:
    step = span / count
    for start in range(0, count, 1000):
        with db.transaction():
            for number in range(start, min(start + 1000, count)):
                clock.advance(step)
                item, found = corpus.new(number)
                stage.on_item(item, [found])


def timed(stage: Escalation, db: Database, clock: SimulatedClock, corpus: Corpus, count: int) -> tuple[float, float]:
    """(matches per wall second, matches per CPU second): the second is what the code costs on a busy machine."""
    reports = [corpus.rewording(number) if number % 3 == 0 else corpus.new(10_000_000 + number)
               for number in range(count)]
    started, cpu_started = time.perf_counter(), time.process_time()
    for start in range(0, count, BATCH):
        with db.transaction():
            for item, found in reports[start : start + BATCH]:
                clock.advance(timedelta(seconds=1))
                stage.on_item(item, [found])
    return count / (time.perf_counter() - started), count / (time.process_time() - cpu_started)


def roundup_placement(stage: Escalation, db: Database, clock: SimulatedClock, corpus: Corpus) -> float:
    """Seconds to place a report naming 70 places under all seven tags: 546 index keys, a lookup per key."""
    found = Match(rule="roundup-rule", title="roundup", severity=Severity.HIGH, tags=TAGS,
                  places=tuple(corpus.random.sample(corpus.places, 70)))
    item = Item(id="roundup", feed="feed0", title=" ".join(corpus.random.sample(corpus.vocabulary, 8)),
                link="https://x.example/roundup", published=None,
                summary=" ".join(corpus.random.sample(corpus.vocabulary, 25)))
    clock.advance(timedelta(seconds=1))
    started = time.perf_counter()
    with db.transaction():
        stage.on_item(item, [found])
    return time.perf_counter() - started


def first_match_after_restart(path: Path, clock: SimulatedClock, corpus: Corpus) -> float:
    """Seconds for the first match on a reopened database: it fills the in-memory story index from the file."""
    db = open_database(path, synchronous="normal")
    stage = Escalation(db, EscalationConfig(), clock, load_escalation_rules([REPO / "rules" / "escalation.toml"]))
    item, found = corpus.new(20_000_000)
    started = time.perf_counter()
    with db.transaction():
        stage.on_item(item, [found])
    elapsed = time.perf_counter() - started
    db.close()
    return elapsed


def one_run(scratch: Path, window_items: int, measured: int, seed: int) -> tuple[float, ...]:
    """(matches/s, matches/CPU s, RSS MB at half window, RSS MB at full window, database MB, first match after a
    restart in s, a 546-key report in s)."""
    path = scratch / "tocsin.sqlite3"
    db = open_database(path, synchronous="normal")
    clock = SimulatedClock(START)
    rules = load_escalation_rules([REPO / "rules" / "escalation.toml"])
    stage = Escalation(db, EscalationConfig(), clock, rules)
    corpus = Corpus(seed)
    fill(stage, db, clock, corpus, window_items // 2, timedelta(hours=20))
    half = rss_mb()
    fill(stage, db, clock, corpus, window_items - window_items // 2, timedelta(hours=20))
    full = rss_mb()
    rate, cpu_rate = timed(stage, db, clock, corpus, measured)
    roundup = roundup_placement(stage, db, clock, corpus)
    db.close()
    size = sum(path.stat().st_size for path in scratch.glob("tocsin.sqlite3*")) / 1e6
    return rate, cpu_rate, half, full, size, first_match_after_restart(path, clock, corpus), roundup


def run(quick: bool) -> list[Result]:
    window_items, measured, runs = (10_000, 1_000, 1) if quick else (100_000, 5_000, 3)
    figures = []
    for seed in range(runs):
        with tempfile.TemporaryDirectory(prefix="tocsin-bench-escalation-") as scratch:
            figures.append(one_run(Path(scratch), window_items, measured, seed))
    rates, cpu_rates, halves, fulls, sizes, restarts, roundups = zip(*figures, strict=True)
    # Memory from the first run only: peak RSS never falls, so later runs would report the earlier runs' peaks
    # (the restart's refill included) rather than their own.
    return [
        median_result(NAME, f"matches processed, {window_items:,} items in the story window", rates, "/s",
                      ">= 2000"),
        median_result(NAME, "matches processed per CPU second (same runs)", cpu_rates, "/s"),
        result(NAME, f"peak RSS with {window_items // 2:,} items in the window", halves[0], "MB"),
        result(NAME, f"peak RSS with {window_items:,} items in the window", fulls[0], "MB"),
        median_result(NAME, f"state database with {window_items:,} stories", sizes, "MB"),
        median_result(NAME, f"first match after a restart, {window_items:,} stories (index refill)", restarts, "s"),
        median_result(NAME, f"a report with 546 index keys (70 places, 7 tags), {window_items:,} stories",
                      [seconds * 1000 for seconds in roundups], "ms"),
    ]


if __name__ == "__main__":
    standalone(run)
