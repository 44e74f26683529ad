"""`tocsin replay`: backtest the rules on feed snapshots with a simulated clock; prints alerts, delivers nothing."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from tocsin.alerts import Alert
from tocsin.cli.colour import SEVERITY_STYLES, Palette, add_color_argument
from tocsin.cli.common import (
    EX_CONFIG,
    EX_FAILURE,
    EX_OK,
    EX_USAGE,
    add_config_argument,
    print_problems,
    progress_bar,
    text_time,
)
from tocsin.config import DEFAULT_CONFIG_PATH, Settings, load_config
from tocsin.config.model import RulesConfig
from tocsin.errors import ConfigError, ParseError, RuleError
from tocsin.pipeline.replay import Snapshot, read_silences, read_snapshot, replay, snapshot_files, time_ordered
from tocsin.pipeline.report import ReplayRecord, write_report
from tocsin.rulebook import load_rulebook
from tocsin.store import Database


def register(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--rules", action="append", type=Path, metavar="PATH",
                        help="rule file or directory (repeatable; default: the configuration's rules.paths)")
    parser.add_argument("--silences", type=Path, metavar="FILE",
                        help="TOML file of [[silence]] tables (match, start, for, comment) to apply during replay")
    parser.add_argument("--until", metavar="ISO8601",
                        help="keep the clock running to this time after the last snapshot, for later reminders")
    parser.add_argument("--json", action="store_true", help="one JSON alert per line (the webhook body)")
    parser.add_argument("--report", type=Path, metavar="FILE.html",
                        help="also write one self-contained HTML page: each situation's score and level, its alerts")
    add_color_argument(parser)
    parser.add_argument("--strict", action="store_true",
                        help="stop at the first unreadable snapshot (default: skip it with a warning)")
    parser.add_argument("snapshots", nargs="+", type=Path, metavar="SNAPSHOT",
                        help="feed files, or directories of them (replayed in the order of their newest item)")
    parser.set_defaults(handler=handle)


def _settings(args: argparse.Namespace) -> Settings:
    explicit = args.config or os.environ.get("TOCSIN_CONFIG")
    settings = load_config(explicit) if explicit or DEFAULT_CONFIG_PATH.exists() else Settings()
    if args.rules:
        paths = tuple(path.resolve() for path in args.rules)
        settings = settings.model_copy(update={"rules": RulesConfig(paths=paths)})
    return settings


def _utc(when: datetime) -> datetime:
    """A time without a zone is UTC, as in feeds."""
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _read_snapshots(files: list[Path], strict: bool) -> list[Snapshot] | None:
    """The readable snapshots; None (with the problem printed) when `strict` and one is not."""
    snapshots = []
    with progress_bar(len(files), "reading") as bar:
        for path in files:
            try:
                snapshots.append(read_snapshot(path))
            except ParseError as exc:
                if strict:
                    print_problems([str(exc)])
                    return None
                # One bad file in a directory of 67 must not cost the alerts of the other 66.
                bar.write(f"warning: {exc}; skipped (--strict stops instead)", file=sys.stderr)
            bar.update()
    return snapshots


def _say_when_reordered(snapshots: list[Snapshot]) -> None:
    """One note on stderr when the snapshots were not given in time order (replay puts them in it)."""
    ordered = time_ordered(snapshots)
    moved = [(given, due) for given, due in zip(snapshots, ordered, strict=True) if given is not due]
    if not moved:
        return
    given, due = moved[0]
    print(f"note: {len(moved)} of {len(snapshots)} snapshot(s) were not given in time order and are replayed by "
          f"their newest item's time (e.g. {due.path.name}, {_shown_time(due)}, was given after {given.path.name}, "
          f"{_shown_time(given)})", file=sys.stderr)


def _shown_time(snapshot: Snapshot) -> str:
    return text_time(snapshot.at) if snapshot.at is not None else "no dated item"


def _alert_line(alert: Alert, as_json: bool, palette: Palette) -> str:
    if as_json:
        return json.dumps(alert.to_json(), ensure_ascii=False)
    severity = palette.paint(alert.severity.value, SEVERITY_STYLES[alert.severity], width=8)
    return f"{text_time(alert.created)}  {alert.kind:<17}  {severity}  {alert.title}"


def handle(args: argparse.Namespace) -> int:
    try:
        until = _utc(datetime.fromisoformat(args.until)) if args.until else None
    except ValueError:
        print_problems([f'--until "{args.until}" is not an ISO 8601 time such as 2020-03-01T00:00Z'])
        return EX_USAGE
    try:
        settings = _settings(args)
        rules = load_rulebook(settings.rule_paths)
        silences = read_silences(args.silences) if args.silences else []
    except ConfigError as exc:
        print_problems(exc.problems)
        return EX_CONFIG
    except RuleError as exc:
        print_problems(exc.problems)
        return EX_CONFIG
    files = snapshot_files(args.snapshots)
    snapshots = _read_snapshots(files, args.strict)
    if snapshots is None:
        return EX_FAILURE
    _say_when_reordered(snapshots)
    record = ReplayRecord.for_rules(rules.escalation) if args.report else None
    palette = Palette.for_stream(args.color, sys.stdout)
    with progress_bar(len(snapshots), "replaying") as bar:

        def observe(db: Database, now: datetime) -> None:
            bar.update()
            if record is not None:
                record.sample(db, now)

        try:
            for alert in replay(snapshots, settings, rules, silences, until, observe):
                if record is not None:
                    record.alerts.append(alert)
                bar.write(_alert_line(alert, args.json, palette), file=sys.stdout)
        except RuleError as exc:
            print_problems(exc.problems)
            return EX_CONFIG
    if record is not None:
        try:
            write_report(record, args.report, f"tocsin replay: {', '.join(p.name for p in args.snapshots)}",
                         settings.escalation.min_alert_level)
        except ConfigError as exc:
            print_problems(exc.problems)
            return EX_CONFIG
        except OSError as exc:
            print_problems([f"{args.report}: cannot write the report ({exc.strerror})"])
            return EX_FAILURE
    return EX_OK
