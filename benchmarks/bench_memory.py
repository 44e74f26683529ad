"""Memory: a million items through the pipeline with retention at work, then the real daemon on that state.

1. `benchmarks.memfill` (a child process) loads the configuration of 5,000 feeds, the default rules plus 10,000
   synthetic rules, and feeds 1,000,000 new items through the daemon's Pipeline over four simulated days with
   one day of retention, pruning every simulated hour. Its resident memory at each tenth of the way shows whether
   anything grows with the items seen; the database size shows retention keeping the file bounded.
2. `tocsin run --once` then polls the 5,000 farm feeds with the same rules on that state database: the peak RSS
   of the daemon's whole process tree (parse workers included) is the figure the target is about. The farm serves
   10 items per feed here, since body size is not what this measures and the first poll of 5,000 full feeds is
   bench_poll's business.

The state database runs with synchronous = "normal" here: durability costs time, not memory.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import Result, result, standalone
from benchmarks.daemonconfig import DEFAULT_RULES, write_config
from benchmarks.feedfarm import FeedFarmProcess
from benchmarks.measure import TOCSIN_PROBED, run_child
from benchmarks.synthrules import write_synthetic_rules

NAME = "memory"


def fill(config: Path, items: int, timeout_s: float) -> list[dict[str, Any]]:
    child = run_child([sys.executable, "-m", "benchmarks.memfill", "--config", str(config), "--items", str(items),
                       "--match-every", "50"], timeout_s=timeout_s).check("benchmarks.memfill")
    return [json.loads(line) for line in child.stdout.splitlines() if line.startswith("{")]


def run(quick: bool) -> list[Result]:
    items, synthetic, feeds = (20_000, 500, 200) if quick else (1_000_000, 10_000, 5_000)
    scale = f"{feeds:,} feeds, default + {synthetic:,} rules"
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-memory-") as scratch, \
            FeedFarmProcess(feeds, items_per_feed=10, max_seconds=2400) as farm:
        work = Path(scratch)
        rules = write_synthetic_rules(work / "synthetic-rules", synthetic)
        config = write_config(work, [farm.feed_url(index) for index in range(feeds)],
                              rule_paths=[DEFAULT_RULES, rules], retention="1d", synchronous="normal")
        progress = fill(config, items, timeout_s=1200)
        daemon = run_child([*TOCSIN_PROBED, "run", "--once", "--config", str(config)], timeout_s=600)
        daemon.check("tocsin run --once")
    loaded = next(line for line in progress if line["stage"] == "loaded")
    steps = [line for line in progress if line["stage"] == "fill"]
    done = next(line for line in progress if line["stage"] == "done")
    last = steps[-1]
    return [
        result(NAME, f"pipeline RSS, {scale}, rules loaded", loaded["rss_mb"], "MB"),
        result(NAME, f"pipeline RSS after {last['items']:,} items", last["rss_mb"], "MB"),
        result(NAME, f"pipeline RSS growth, {steps[0]['items']:,} -> {last['items']:,} items",
               last["rss_mb"] - steps[0]["rss_mb"], "MB"),
        result(NAME, "pipeline peak RSS (VmHWM)", done["peak_rss_mb"], "MB"),
        result(NAME, f"state DB after {last['items']:,} items (1d retention, 4d span)", done["db_mb"], "MB"),
        result(NAME, "pipeline items/s (mostly silent batches)", last["items"] / max(last["elapsed_s"], 1e-9), "1/s"),
        result(NAME, f"daemon peak RSS, {scale}, {last['items']:,} seen", daemon.peak_rss_mb, "MB", "< 250"),
        result(NAME, "daemon --once wall, first poll of all feeds", daemon.wall_s, "s"),
    ]


if __name__ == "__main__":
    standalone(run)
