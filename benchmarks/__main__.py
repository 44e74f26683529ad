"""`make bench` / `python -m benchmarks [--quick] [--only NAME]...`: run every benchmarks/bench_*.py, print one
table, and write the same figures as JSON to benchmarks/results/<UTC time>-<git sha>.json for comparing commits.

A benchmark that fails is reported (and makes the exit status 1) without stopping the others.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import benchmarks
from benchmarks import Result, format_number, meets
from benchmarks.measure import REPO, machine_load

RESULTS_DIR = Path(__file__).resolve().parent / "results"
COLUMNS = ("benchmark", "metric", "median", "spread", "unit", "target", "result")


def discover() -> list[str]:
    """Names of the benchmark modules, without the `bench_` prefix, in name order."""
    return sorted(
        module.name.removeprefix("bench_")
        for module in pkgutil.iter_modules(benchmarks.__path__)
        if module.name.startswith("bench_")
    )


def select(available: Sequence[str], only: Sequence[str]) -> list[str]:
    if not only:
        return list(available)
    wanted = [name.removeprefix("bench_").removesuffix(".py") for name in only]
    unknown = [name for name in wanted if name not in available]
    if unknown:
        raise SystemExit(f"no benchmark named {', '.join(unknown)}; there are: {', '.join(available)}")
    return [name for name in available if name in wanted]


def verdict(row: Result) -> str:
    met = meets(row["value"], row["target"])
    return "-" if met is None else ("pass" if met else "MISS")


def table(rows: Sequence[Result]) -> str:
    cells = [COLUMNS] + [
        (row["benchmark"], row["metric"], format_number(row["value"]), row["spread"] or "", row["unit"],
         row["target"] or "", verdict(row))
        for row in rows
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(len(COLUMNS))]
    numeric = {2}
    lines = [
        "  ".join(text.rjust(width) if column in numeric else text.ljust(width)
                  for column, (text, width) in enumerate(zip(line, widths, strict=True))).rstrip()
        for line in cells
    ]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def git_sha() -> str:
    try:
        found = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                               timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return "nogit"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO, capture_output=True,
                           text=True, timeout=10).stdout.strip()
    return found.stdout.strip() + ("-dirty" if dirty else "")


def write_json(report: dict[str, Any], directory: Path = RESULTS_DIR) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{stamp}-{report['git']}.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path


def run_all(names: Sequence[str], quick: bool) -> tuple[list[Result], dict[str, str]]:
    rows: list[Result] = []
    errors: dict[str, str] = {}
    for name in names:
        started = time.perf_counter()
        print(f"# {name}: running{' (quick)' if quick else ''} ... [{machine_load()}]", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"benchmarks.bench_{name}")
            produced = list(module.run(quick))
        except Exception as exc:
            errors[name] = "".join(traceback.format_exception_only(exc)).strip()
            traceback.print_exc()
            print(f"# {name}: FAILED: {errors[name]}", file=sys.stderr, flush=True)
            continue
        rows.extend(produced)
        print(f"# {name}: done in {time.perf_counter() - started:.1f}s", file=sys.stderr, flush=True)
    return rows, errors


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="small sizes and one run each: a smoke test, not figures")
    parser.add_argument("--only", action="append", default=[], metavar="NAME",
                        help="run only this benchmark (poll or bench_poll); repeatable")
    args = parser.parse_args(argv)
    names = select(discover(), args.only)
    load_before = machine_load()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    started = time.perf_counter()
    rows, errors = run_all(names, args.quick)
    report = {
        "git": git_sha(),
        "started": started_at,
        "quick": args.quick,
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "load_before": load_before, "load_after": machine_load()},
        "duration_s": round(time.perf_counter() - started, 1),
        "results": rows,
        "errors": errors,
    }
    print(table(rows))
    for name, error in errors.items():
        print(f"FAILED {name}: {error}")
    path = write_json(report)
    print(f"\n{len(rows)} figures in {report['duration_s']}s; {load_before} before, {machine_load()} after; "
          f"written to {path.relative_to(REPO)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
