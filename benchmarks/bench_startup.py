"""Start-up cost: CPU seconds of whole `tocsin` processes that do (almost) nothing but start.

`--version` and `--help` import only the command table; `check` loads the configuration (pydantic) and the rules;
`run --once` with no feeds does everything a cycle needs before its first poll (imports, rules, opening the
state) and exits. CPU is user + system time of the process tree (wait4), so figures hold on a busy machine far
better than wall time; each is the median of several runs. Run standalone: python -m benchmarks.bench_startup.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks import Result, median_result, standalone
from benchmarks.daemonconfig import write_config
from benchmarks.measure import REPO, TOCSIN, run_child

NAME = "startup"
TARGET = "<= 0.3"


def _cpu(argv: list[str], runs: int) -> list[float]:
    return [run_child(argv, timeout_s=60).check(" ".join(argv[2:])).cpu_s for _ in range(runs)]


def run(quick: bool) -> list[Result]:
    runs = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-startup-") as work:
        config = write_config(Path(work), [])
        commands = {
            "--version": [*TOCSIN, "--version"],
            "--help": [*TOCSIN, "--help"],
            "check, example config": [*TOCSIN, "check", "--config", str(REPO / "config.example.toml")],
            "run --once, no feeds": [*TOCSIN, "run", "--once", "--config", str(config)],
        }
        return [median_result(NAME, f"CPU of `tocsin {name}`", _cpu(argv, runs), "s", TARGET)
                for name, argv in commands.items()]


if __name__ == "__main__":
    standalone(run)
