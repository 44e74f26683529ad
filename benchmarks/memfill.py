"""`python -m benchmarks.memfill --config PATH --items N`: feed N new items through the daemon's real Pipeline
(dedupe, rules, escalation, routing, the state database) with a simulated clock, in batches of 50 per feed, and
print one JSON line per tenth of the way: items so far, resident memory, database size.

Fetch and parse are left out (bench_poll measures them): a million items through feedparser would take most of
an hour. The simulated clock spreads the items over `--span-days`, and seen items are pruned every simulated hour
past the configured retention, as the service does, so the database shows retention at work. One batch in
`--match-every` goes through the rules; the others are recorded silently, like a feed's first fetch, because
matching every item against 10,000 rules would again take far longer than the memory question needs.
"""

from __future__ import annotations

import argparse
import json
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.feedfarm import ITEMS_PER_FEED, article
from tocsin.clock import SimulatedClock
from tocsin.config import load_config
from tocsin.items import Item
from tocsin.pipeline.core import Pipeline
from tocsin.rulebook import load_rulebook
from tocsin.store import open_database

_TAG = re.compile(r"<[^>]+>")
PRUNE_EVERY = timedelta(hours=1)


def resident_mb(field: str = "VmRSS:") -> float:
    """This process's resident memory now, or with "VmHWM:" its peak (ru_maxrss would include the peak of the
    process that started this one: see benchmarks.measure)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def database_mb(path: Path) -> float:
    files = [path, path.with_name(path.name + "-wal")]
    return sum(file.stat().st_size for file in files if file.exists()) / 1024 / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--span-days", type=float, default=4.0)
    parser.add_argument("--match-every", type=int, default=20)
    args = parser.parse_args()

    started = time.perf_counter()
    settings = load_config(args.config)
    rules = load_rulebook(settings.rule_paths)
    report = {"rules": len(rules), "feeds": len(settings.feeds), "load_s": round(time.perf_counter() - started, 2),
              "rss_mb": round(resident_mb(), 1)}
    print(json.dumps({"stage": "loaded", **report}), flush=True)

    batches = args.items // ITEMS_PER_FEED
    step = timedelta(days=args.span_days) / batches
    clock = SimulatedClock(datetime.now(UTC) - timedelta(days=args.span_days))
    db = open_database(settings.database_path, settings.store.synchronous)
    pipeline = Pipeline(db, settings, rules, clock)
    next_prune = clock.now() + PRUNE_EVERY
    sequences = [0] * len(settings.feeds)
    processed = alerts = pruned = 0
    started = time.perf_counter()
    for batch in range(batches):
        index = batch % len(settings.feeds)
        feed = settings.feeds[index]
        now = clock.now()
        items = []
        for _ in range(ITEMS_PER_FEED):
            sequences[index] += 1
            title, summary = article(index, sequences[index], now)
            items.append(Item(id=f"fill-{index}-{sequences[index]}", feed=feed.name, title=title,
                              link=f"https://news{index % 97}.example/fill/{index}/{sequences[index]}",
                              published=now, summary=_TAG.sub("", summary), fetched_at=now))
        result = pipeline.ingest(feed, items, silent=batch % args.match_every != 0)
        processed += result.new_items
        alerts += len(result.alerts)
        clock.advance(step)
        if clock.now() >= next_prune:
            pruned += pipeline.prune()
            pipeline.tick()
            next_prune += PRUNE_EVERY
        if (batch + 1) % max(1, batches // 10) == 0 or batch + 1 == batches:
            print(json.dumps({
                "stage": "fill", "items": processed, "alerts": alerts, "pruned": pruned,
                "rss_mb": round(resident_mb(), 1), "db_mb": round(database_mb(settings.database_path), 1),
                "elapsed_s": round(time.perf_counter() - started, 1),
            }), flush=True)
    db.close()
    print(json.dumps({"stage": "done", "db_mb": round(database_mb(settings.database_path), 1),
                      "peak_rss_mb": round(resident_mb("VmHWM:"), 1)}),
          flush=True)


if __name__ == "__main__":
    main()
