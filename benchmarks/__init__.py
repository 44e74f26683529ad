"""Benchmarks of the whole daemon and of its stages; `make bench` (`python -m benchmarks`) runs them all.

Convention: each benchmark is a module `benchmarks/bench_<name>.py` exposing `run(quick: bool) -> list[Result]`,
and runs standalone with `python -m benchmarks.bench_<name> [--quick]`. A benchmark starts its own local servers
in separate processes on 127.0.0.1 so that the client's CPU is measured cleanly. Figures are medians of several
runs; `spread` says how far the runs were apart. A target reads like `<= 10` or `>= 5000` (in the figure's unit),
so the runner can say whether it was met.
"""

from __future__ import annotations

import math
import re
import statistics
import sys
from collections.abc import Callable, Sequence
from typing import TypedDict


class Result(TypedDict):
    benchmark: str
    metric: str
    value: float
    unit: str
    target: str | None
    spread: str | None


def result(
    benchmark: str, metric: str, value: float, unit: str, target: str | None = None, spread: str | None = None
) -> Result:
    return {"benchmark": benchmark, "metric": metric, "value": float(value), "unit": unit, "target": target,
            "spread": spread}


def median_result(
    benchmark: str, metric: str, samples: Sequence[float], unit: str, target: str | None = None
) -> Result:
    """The median of several runs, with their range as the spread."""
    return result(benchmark, metric, statistics.median(samples), unit, target, spread(samples))


def spread(samples: Sequence[float]) -> str | None:
    """`min..max (n=3)`: the range of the runs behind a median; None for a single run."""
    if len(samples) < 2:
        return None
    return f"{format_number(min(samples))}..{format_number(max(samples))} (n={len(samples)})"


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile (p99 of 100 samples is the 99th smallest): no interpolation past the data."""
    if not samples:
        raise ValueError("percentile of no samples")
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), math.ceil(len(ordered) * fraction)))
    return ordered[rank - 1]


def format_number(value: float) -> str:
    if value != value:  # NaN: a figure that could not be measured
        return "n/a"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


_TARGET = re.compile(r"^\s*(<=|>=|<|>)\s*([0-9][0-9,_]*(?:\.[0-9]+)?)\s*$")


def meets(value: float, target: str | None) -> bool | None:
    """Whether a figure meets its target (`<= 10`, `> 2000`); None when there is no target or it is not a
    comparison the runner can check."""
    if target is None:
        return None
    parsed = _TARGET.match(target)
    if parsed is None:
        return None
    operator, bound_text = parsed.groups()
    bound = float(bound_text.replace(",", "").replace("_", ""))
    if value != value:
        return False
    return {"<=": value <= bound, ">=": value >= bound, "<": value < bound, ">": value > bound}[operator]


def print_results(results: Sequence[Result]) -> None:
    """Figures of one benchmark module, for `python -m benchmarks.bench_<name>`."""
    for row in results:
        target = f"  target {row['target']}" if row["target"] else ""
        spread_text = f"  [{row['spread']}]" if row["spread"] else ""
        print(f"{row['benchmark']:<18} {row['metric']:<40} {format_number(row['value']):>10} {row['unit']:<6}"
              f"{spread_text}{target}")


def standalone(run: Callable[[bool], Sequence[Result]]) -> None:
    """The `__main__` of a benchmark module: `--quick` selects the fast smoke version."""
    print_results(run("--quick" in sys.argv[1:]))
