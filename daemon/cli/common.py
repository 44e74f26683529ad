"""What the subcommands share: exit codes, loading config and rules with the messages people need."""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tocsin.errors import ConfigError, RuleError, StoreError

# The stages are imported where they are used, not here: `tocsin --version` and `--help` import every command's
# module, and should not pay for pydantic, the rules and the store (docs/performance.md, start-up).
if TYPE_CHECKING:
    from tqdm import tqdm

    from tocsin.config import Settings
    from tocsin.rulebook import RuleBook
    from tocsin.store import Database

EX_OK = 0
EX_FAILURE = 1
EX_USAGE = 64
EX_TEMPFAIL = 75
"""sysexits.h EX_TEMPFAIL: `run --once` ran to the end but a feed failed or an alert is still undelivered; cron (or
a wrapper) can tell this from success and from a broken configuration."""
EX_CONFIG = 78
"""sysexits.h EX_CONFIG: systemd's RestartPreventExitStatus=78 keeps a bad config from restart-looping."""


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="PATH", help="configuration file (default: $TOCSIN_CONFIG, else /etc/tocsin/tocsin.toml)"
    )


def print_json_array(records: Iterable[object]) -> None:
    """The one `--json` shape of the commands that list state (feeds, alerts, silence, situations): one JSON array,
    indented, text kept as written. Commands that stream results as they go (match, replay) print JSON lines."""
    print(json.dumps(list(records), indent=2, ensure_ascii=False))


def progress_bar(total: int, what: str) -> tqdm[Any]:
    """A progress bar on stderr (tqdm) while it is a terminal; silent otherwise, so pipes, logs and CI output hold
    only the results. Print results through its `write` so that they do not tear the bar."""
    from tqdm import tqdm

    return tqdm(total=total, desc=what, unit="file", leave=False, disable=not sys.stderr.isatty(), file=sys.stderr)


def text_time(when: datetime) -> str:
    """The one way the commands print a time for people: UTC to the second, 2026-03-02T07:42:10Z."""
    return when.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def print_problems(problems: list[str]) -> None:
    from tocsin.runtime.logs import stream_is_journal

    # Under systemd, <3> makes journald store each line at error priority, so `journalctl -p err` shows them.
    prefix = "<3>" if stream_is_journal(sys.stderr) else ""
    for problem in problems:
        print(f"{prefix}error: {problem}", file=sys.stderr)


@contextlib.contextmanager
def collector_paused(*, whole_process: bool) -> Iterator[None]:
    """The garbage collector off while start-up builds what lives as long as the process (modules, configuration,
    rules): its passes over them free nothing, and cost about 7% of a `run --once` with no feeds. What was made
    meanwhile is then frozen (gc.freeze), or the first pass after would walk all of it at once; the little cyclic
    garbage among it stays, once. Only when the command owns the process (`tocsin ...`, not `main([...])` called
    from other code, whose objects must not be frozen with ours): otherwise nothing changes."""
    if not whole_process or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def load_settings_and_rules(args: argparse.Namespace, *, cached: bool = False) -> tuple[Settings, RuleBook]:
    """Load both and raise ConfigError with every problem of the rules, so one run shows everything to fix.
    `cached`: the compiled rules are kept in the state directory and reused while the rule files are unchanged."""
    from tocsin.config import load_config
    from tocsin.rulebook import load_rulebook

    settings = load_config(getattr(args, "config", None))
    try:
        return settings, load_rulebook(settings.rule_paths, settings.state_path if cached else None)
    except RuleError as exc:
        raise ConfigError(exc.problems) from None


def open_state(args: argparse.Namespace) -> tuple[Settings, Database] | int:
    """The configuration and the state database, for commands that read state; or, with the problems printed,
    the exit code to return (EX_CONFIG for a bad configuration, EX_FAILURE for an unusable database)."""
    from tocsin.config import load_config
    from tocsin.store.backend import open_store

    try:
        settings = load_config(getattr(args, "config", None))
        return settings, open_store(settings)
    except ConfigError as exc:
        print_problems(exc.problems)
        return EX_CONFIG
    except StoreError as exc:
        print_problems([str(exc)])
        return EX_FAILURE
