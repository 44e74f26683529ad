"""Items per second through the matcher, compile time and memory: the default pack, and the default pack plus
1,000 and 10,000 synthetic rules (benchmarks/synthrules.py).

Items are news-like (about 600 characters, seven sentences). In the "mixed" stream a quarter of the items are
about armed conflict (sentences drawn from the conflict pool) and the rest are everyday news, roughly a world
desk's mix; the "conflict only" figure shows the worst case, where every item reaches the positional checks of
most rules. One process, one core; times are CPU time of this process (time.process_time), so that other work
on the machine does not distort them.
When ../shared/labels is beside the checkout, the default pack also runs over its 1,146 real BBC, CNN and Guardian
items (title and RSS description), the text the pack is tuned for.
Targets: >= 5,000 items/s per core for the default pack and for 1,000 rules; 10,000 rules compile in < 3 s, take
< 300 MB and still match >= 2,000 items/s.
"""

from __future__ import annotations

import gc
import random
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import Result, median_result, result, standalone
from benchmarks.synthrules import write_synthetic_rules
from tocsin.items import Item
from tocsin.matching.rules import RuleSet, load_rules

NAME = "matcher"
DEFAULT_RULES = Path(__file__).resolve().parent.parent / "rules"
LABELLED_NEWS = Path(__file__).resolve().parent.parent.parent / "shared" / "labels"
_CONFLICT = (
    "Russian forces shelled the outskirts of Kharkiv overnight, regional officials said.",
    "At least 12 civilians were killed when an airstrike hit a market in northern Yemen.",
    "Turkey sent more than 2,100 military vehicles and 7,000 troops into Idlib in two weeks.",
    "Rebels shot down a Syrian army helicopter near Saraqib, a war monitor reported.",
    "Nearly 800,000 people have fled toward the border since the offensive began.",
    "The army said it had recaptured the town after days of heavy fighting.",
    "Ankara gave Damascus until the end of the month to withdraw its forces.",
    "Air defences intercepted a dozen drones over the capital before dawn.",
    "Thousands of refugees crossed into the neighbouring country, the UN said.",
)
_EVERYDAY = (
    "The central bank held interest rates steady for the third month in a row.",
    "Shares in the carmaker rose after it reported better than expected profits.",
    "The minister said the budget must be passed by the end of the month to avoid a shutdown.",
    "A heatwave brought record temperatures to much of southern Europe this week.",
    "The football club shot down rumours that its coach would leave in the summer.",
    "Scientists described a new species of frog found in the cloud forests of Ecuador.",
    "The festival drew more than 200,000 visitors over the long weekend.",
    "Lawmakers debated a bill to expand broadband access in rural areas.",
    "The company deployed a new version of its software to thousands of stores.",
    "Talks between the two delegations will resume in Geneva on Tuesday.",
    "The museum reopened after a two-year renovation of its east wing.",
    "A storm forced the evacuation of several coastal villages on Sunday.",
    "Candidates rallied the troops ahead of the final televised debate.",
    "Officials said the new rail line would cut the journey time by half.",
    "The film won the top prize at the festival on Saturday night.",
)


def news_items(count: int, conflict_share: float = 0.25, seed: int = 11) -> list[Item]:
    rng = random.Random(seed)
    published = datetime(2020, 2, 17, tzinfo=UTC)
    items = []
    for number in range(count):
        if rng.random() < conflict_share:
            sentences = rng.sample(_CONFLICT, 4) + rng.sample(_EVERYDAY, 3)
            rng.shuffle(sentences)
        else:
            sentences = rng.sample(_EVERYDAY, 7)
        items.append(Item(id=str(number), feed="bench", title=sentences[0], link="", published=published,
                          summary=" ".join(sentences[1:])))
    return items


def _rss_mb() -> float:
    with Path("/proc/self/statm").open() as statm:
        resident_pages = int(statm.read().split()[1])
    return resident_pages * 4096 / 1e6


def _items_per_second(rules: RuleSet, items: list[Item], rounds: int) -> list[float]:
    for item in items[:200]:  # warm-up: RE2 builds its DFA lazily on the first searches
        rules.match(item)
    rates = []
    for _ in range(rounds):
        start = time.process_time()
        for item in items:
            rules.match(item)
        rates.append(len(items) / (time.process_time() - start))
    return rates


def _case(label: str, paths: list[Path], items: list[Item], rounds: int, throughput_target: str,
          conflict_items: list[Item] | None = None) -> list[Result]:
    gc.collect()
    before_mb = _rss_mb()
    start = time.process_time()
    rules = load_rules(paths)
    compile_s = time.process_time() - start
    rates = _items_per_second(rules, items, rounds)
    memory_mb = _rss_mb() - before_mb
    big = label.startswith("10,000")
    worst = [median_result(NAME, f"{label}: items/s, conflict only", _items_per_second(rules, conflict_items, rounds),
                           "items/s")] if conflict_items else []
    return [
        median_result(NAME, f"{label}: items/s, mixed", rates, "items/s", throughput_target), *worst,
        result(NAME, f"{label}: load+compile (CPU)", compile_s, "s", "< 3" if big else None),
        result(NAME, f"{label}: RSS delta", memory_mb, "MB", "< 300" if big else None),
    ]


def run(quick: bool) -> list[Result]:
    items = news_items(500 if quick else 3000)
    conflict_items = news_items(200 if quick else 1000, conflict_share=1.0)
    rounds = 1 if quick else 3
    results = _case("default pack", [DEFAULT_RULES], items, rounds, ">= 5000", conflict_items)
    if (LABELLED_NEWS / "items.jsonl").exists():
        from tocsin.cli.eval import read_as_published

        labelled, _ = read_as_published(LABELLED_NEWS / "items.jsonl", LABELLED_NEWS / "labels.jsonl")
        news = [case.item for case in labelled]
        pack = load_rules([DEFAULT_RULES])
        for item in news:  # each headline's words are new to the pattern caches on the first pass
            pack.match(item)
        results.append(median_result(NAME, "default pack: items/s, labelled news (../shared/labels)",
                                     _items_per_second(pack, news, rounds), "items/s", ">= 5000"))
    with tempfile.TemporaryDirectory() as scratch:
        for count, target in ((1_000, ">= 5000"), (10_000, ">= 2000")):
            synthetic = write_synthetic_rules(Path(scratch) / f"synthetic-{count}", count)
            results += _case(f"{count:,} rules + pack", [DEFAULT_RULES, synthetic], items, rounds, target)
    return results


if __name__ == "__main__":
    standalone(run)
