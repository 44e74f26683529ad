"""Start-up cost: CPU seconds of whole `tocsin` processes that do (almost) nothing but start.

`--version` and `--help` import only the command table; `check` loads the configuration (pydantic) and the rules
(from the daemon's rule cache in the state directory, as a check after the daemon ran or an earlier check finds
them), runs the rules' examples and weighs each rule's matching cost, kept in the user's cache directory; it is
measured with both caches in place and, as the first check on a new machine, with both removed before each run;
`run --once` with no feeds does everything a cycle needs before its first poll (imports, rules, opening the
state) and exits. It is measured three ways: a generated configuration with no feeds, the example configuration
(its receivers, routes, escalation settings) without its feeds (they are real sites, and this machine has no
network), both with the rules cached in the state directory as every run after the first finds them; and the
generated one with that cache removed before each run, to show what compiling the rules costs.

CPU is user + system time of the process tree (wait4), so figures hold on a busy machine far better than wall
time; each is the median of several runs. The package's bytecode is compiled first, as an installed wheel has it
(a checkout run with PYTHONDONTWRITEBYTECODE=1 would otherwise compile every module in every run), and TOCSIN_*
variables are left out of the children's environment (an override makes the configuration import
pydantic-settings). Run standalone: python -m benchmarks.bench_startup.
"""

from __future__ import annotations

import compileall
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from benchmarks import Result, median_result, standalone
from benchmarks.daemonconfig import write_config
from benchmarks.measure import REPO, TOCSIN, run_child
from tocsin.matching.cost import CACHE_FILE as COSTS_FILE
from tocsin.rulecache import FILE_NAME

NAME = "startup"
TARGET = "<= 0.3"
EXAMPLE_CONFIG = REPO / "config.example.toml"


def example_without_feeds(directory: Path) -> Path:
    """config.example.toml up to its first [[feeds]] table (the feeds close the file), state under `directory`."""
    lines = EXAMPLE_CONFIG.read_text().splitlines()
    kept = lines[: next(number for number, line in enumerate(lines) if line.startswith("[[feeds]]"))]
    state = [number for number, line in enumerate(kept) if line.startswith("state_dir = ")]
    assert len(state) == 1, "the example config sets state_dir once"
    kept[state[0]] = f"state_dir = {str(directory / 'state')!r}"
    path = directory / "example.toml"
    path.write_text("\n".join(kept) + "\n")
    return path


def _cpu(argv: list[str], runs: int, env: Mapping[str, str], before: Path | None = None) -> list[float]:
    """CPU of `runs` runs of `argv`; `before`, when given, is removed before each run."""
    samples = []
    for _ in range(runs):
        if before is not None:
            before.unlink(missing_ok=True)
        samples.append(run_child(argv, timeout_s=60, env=env).check(" ".join(argv[2:])).cpu_s)
    return samples


def run(quick: bool) -> list[Result]:
    runs = 3 if quick else 7
    compileall.compile_dir(REPO / "daemon", quiet=1)
    env = {name: value for name, value in os.environ.items() if not name.upper().startswith("TOCSIN_")}
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-startup-") as work:
        config = write_config(Path(work) / "nofeeds", [])
        example = example_without_feeds(Path(work))
        once = {
            "run --once, no feeds": [*TOCSIN, "run", "--once", "--config", str(config)],
            "run --once, example config without feeds": [*TOCSIN, "run", "--once", "--config", str(example)],
        }
        for argv in once.values():
            _cpu(argv, 1, env)  # makes the state directory and the rule cache, as a first run does
        check = [*TOCSIN, "check", "--config", str(EXAMPLE_CONFIG)]
        # The example's state directory is ./state; $STATE_DIRECTORY (systemd's) puts it in the work directory.
        check_state = Path(work) / "check-state"
        check_state.mkdir()
        check_env = {**env, "XDG_CACHE_HOME": str(Path(work) / "cache"), "STATE_DIRECTORY": str(check_state)}
        _cpu(check, 1, check_env)  # the first check: weighs the rules, fills the rule cache
        commands = {
            "--version": [*TOCSIN, "--version"],
            "--help": [*TOCSIN, "--help"],
            **once,
        }
        results = [median_result(NAME, f"CPU of `tocsin {name}`", _cpu(argv, runs, env), "s", TARGET)
                   for name, argv in commands.items()]
        results.insert(2, median_result(NAME, "CPU of `tocsin check, example config`", _cpu(check, runs, check_env),
                                        "s", TARGET))
        uncached = _cpu(once["run --once, no feeds"], runs, env, before=config.parent / "state" / FILE_NAME)
        results.append(median_result(NAME, "CPU of `tocsin run --once, no feeds`, rules compiled (no cache)",
                                     uncached, "s"))
        first = []
        for _ in range(runs):
            (check_state / FILE_NAME).unlink()
            first += _cpu(check, 1, check_env, before=Path(work) / "cache" / "tocsin" / COSTS_FILE)
        results.append(median_result(NAME, "CPU of `tocsin check, example config`, first check (no caches)", first,
                                     "s"))
        return results


if __name__ == "__main__":
    standalone(run)
