"""Poll cycle of the real daemon: `tocsin run --once` over 1,000 and 5,000 farm feeds, in a subprocess.

Each size gets a fresh state directory and feed farm. A first `--once` primes it (every feed answers 200 with its
full body; the items are recorded as seen, silently, and the validators and body hashes are stored); the timed
cycles after it are the steady state a running daemon sees every interval: about 70% 304, 20% an unchanged
body, 10% a changed body with 1-5 new items among 50. Then the farm switches to the worst case, every feed a
changed 50-item body, for the largest size.

The items are the 3,735 real BBC and CNN headlines of ../shared/peerbench when that folder is beside the checkout
(the rows say "real headlines"), so the new items of a cycle cost what real wording costs in matching, stories and
escalation, as in the peerbench harness; without it the farm's synthetic items, whose few sentences the matcher
soon knows by heart, and the rows say "synthetic". Each cycle's new items and alerts, from the daemon's cycle
line, are rows too: a cycle figure with no new items would not measure what a user pays.

A `--once` process also pays for interpreter start-up, imports, rule compilation, the parser pool and shutdown;
the same command with no feeds measures that, and the cycle figures are the process figures minus it.
"""

from __future__ import annotations

import asyncio
import re
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks import Result, median_result, standalone
from benchmarks.daemonconfig import write_config
from benchmarks.feedfarm import FeedFarmProcess, behaviour_of
from benchmarks.measure import TOCSIN_PROBED, ChildRun, run_child
from tocsin.config.feeds import HttpConfig
from tocsin.fetch.client import Fetcher

NAME = "poll"
_STALL = re.compile(r"longest event-loop stall[:= ]+([0-9.]+)\s*ms")
_CYCLE_LINE = re.compile(r"polled \d+ feed\(s\):.*?; (\d+) new item\(s\), (\d+) alert\(s\)")
HEADLINES = Path(__file__).resolve().parent.parent.parent / "shared" / "peerbench" / "headlines-2022-01-02.jsonl.gz"


@dataclass(frozen=True, slots=True)
class Cycle:
    run: ChildRun
    stall_ms: float
    new_items: int
    alerts: int


@dataclass(frozen=True, slots=True)
class Plan:
    sizes: tuple[int, ...]
    runs: int
    worst_size: int
    worst_runs: int
    timeout_s: float


FULL = Plan(sizes=(1000, 5000), runs=3, worst_size=5000, worst_runs=2, timeout_s=900)
QUICK = Plan(sizes=(100,), runs=1, worst_size=100, worst_runs=1, timeout_s=120)


def longest_stall_ms(run: ChildRun) -> float:
    """The longest event-loop stall stallprobe reported when `run --once` ended; NaN when it did not."""
    found = [float(value) for value in _STALL.findall(run.stderr + run.stdout)]
    return max(found) if found else float("nan")


def run_once(config: Path, timeout_s: float) -> Cycle:
    child = run_child([*TOCSIN_PROBED, "run", "--once", "--config", str(config)], timeout_s=timeout_s)
    child.check(f"tocsin run --once --config {config}")
    tallies = _CYCLE_LINE.findall(child.stderr + child.stdout)
    new_items, alerts = (int(tallies[-1][0]), int(tallies[-1][1])) if tallies else (0, 0)
    return Cycle(child, longest_stall_ms(child), new_items, alerts)


def polled_cycle(farm: FeedFarmProcess, config: Path, timeout_s: float) -> Cycle:
    """One timed cycle; fails unless the farm saw exactly one request per feed (a fast cycle that skipped feeds
    would be a false figure)."""
    farm.reset()
    cycle = run_once(config, timeout_s)
    counts = farm.counts()
    requests = sum(counts.values())
    if requests != farm.feed_count:
        raise RuntimeError(f"the daemon made {requests} requests for {farm.feed_count} feeds ({counts})")
    return cycle


def startup_cost(work: Path, plan: Plan) -> list[Cycle]:
    """`tocsin run --once` with the same rules and no feeds: what every --once pays before and after a cycle."""
    config = write_config(work / "empty", [])
    return [run_once(config, plan.timeout_s) for _ in range(max(plan.runs, 2))]


def figures(label: str, cycles: list[Cycle], baseline: list[Cycle], wall_target: str | None,
            cpu_target: str | None) -> list[Result]:
    base_wall = statistics.median(cycle.run.wall_s for cycle in baseline)
    base_cpu = statistics.median(cycle.run.cpu_s for cycle in baseline)
    stalls = [cycle.stall_ms for cycle in cycles]
    return [
        median_result(NAME, f"{label}: cycle wall", [c.run.wall_s - base_wall for c in cycles], "s", wall_target),
        median_result(NAME, f"{label}: cycle CPU", [c.run.cpu_s - base_cpu for c in cycles], "s", cpu_target),
        median_result(NAME, f"{label}: process wall", [c.run.wall_s for c in cycles], "s"),
        median_result(NAME, f"{label}: process CPU", [c.run.cpu_s for c in cycles], "s"),
        median_result(NAME, f"{label}: peak RSS", [c.run.peak_rss_mb for c in cycles], "MB"),
        median_result(NAME, f"{label}: longest loop stall", stalls, "ms", "<= 50" if "worst" in label else None),
        median_result(NAME, f"{label}: new items taken in", [c.new_items for c in cycles], "items"),
        median_result(NAME, f"{label}: alerts decided", [c.alerts for c in cycles], "alerts"),
    ]


def measure_size(work: Path, size: int, plan: Plan, baseline: list[Cycle]) -> list[Result]:
    results: list[Result] = []
    # The farm outlives every cycle of this size even on a slow day; it still stops by itself in the end.
    headlines = HEADLINES if HEADLINES.is_file() else None
    items = "real headlines" if headlines else "synthetic"
    with FeedFarmProcess(size, max_seconds=plan.timeout_s * (2 + plan.runs + plan.worst_runs),
                         headlines=headlines) as farm:
        config = write_config(work / f"feeds-{size}", [farm.feed_url(index) for index in range(size)])
        prime = run_once(config, plan.timeout_s)
        results += figures(f"{size:,} feeds, first poll", [prime], baseline, None, None)[:3]
        realistic = [polled_cycle(farm, config, plan.timeout_s) for _ in range(plan.runs)]
        targets = {1000: ("<= 2", None), 5000: ("<= 10", "<= 5")}.get(size, (None, None))
        results += figures(f"{size:,} feeds, realistic, {items}", realistic, baseline, *targets)
        if size == plan.worst_size:
            farm.set_mode("worst")
            worst = [polled_cycle(farm, config, plan.timeout_s) for _ in range(plan.worst_runs)]
            results += figures(f"{size:,} feeds, worst, {items}", worst, baseline, "<= 60", None)
    return results


async def _timed_304_polls(farm: FeedFarmProcess, indices: list[int]) -> float:
    """CPU milliseconds per conditional GET answered 304, through the daemon's Fetcher, validators primed."""
    fetcher = Fetcher(HttpConfig())
    try:
        first = await asyncio.gather(*(fetcher.fetch(farm.feed_url(index)) for index in indices))
        started = time.process_time()
        await asyncio.gather(*(fetcher.fetch(farm.feed_url(index), answer.validators)
                               for index, answer in zip(indices, first, strict=True)))
        return (time.process_time() - started) * 1000 / len(indices)
    finally:
        await fetcher.close()


def fetch_304_cost_ms(repeats: int, feeds: int = 300) -> list[float]:
    """The fixed cost of a poll that finds nothing new: what 70% of a realistic cycle's polls pay."""
    with FeedFarmProcess(feeds) as farm:
        quiet = [index for index in range(feeds) if behaviour_of(index, "realistic") == "not_modified"]
        return [asyncio.run(_timed_304_polls(farm, quiet)) for _ in range(repeats)]


def run(quick: bool) -> list[Result]:
    plan = QUICK if quick else FULL
    fetch_samples = fetch_304_cost_ms(2 if quick else 5)
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-poll-") as scratch:
        work = Path(scratch)
        baseline = startup_cost(work, plan)
        results = [
            median_result(NAME, "Fetcher.fetch, one 304 poll (client CPU)", fetch_samples, "ms"),
            median_result(NAME, "start-up + shutdown, no feeds: wall", [c.run.wall_s for c in baseline], "s"),
            median_result(NAME, "start-up + shutdown, no feeds: CPU", [c.run.cpu_s for c in baseline], "s"),
        ]
        for size in plan.sizes:
            results += measure_size(work, size, plan, baseline)
    return results


if __name__ == "__main__":
    standalone(run)
