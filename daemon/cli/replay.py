"""`tocsin replay`: backtest the rules on feed snapshots with a simulated clock; prints alerts, delivers nothing."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from tocsin.cli.common import EX_CONFIG, EX_FAILURE, EX_OK, EX_USAGE, add_config_argument, print_problems
from tocsin.config import DEFAULT_CONFIG_PATH, Settings, load_config
from tocsin.config.model import RulesConfig
from tocsin.errors import ConfigError, ParseError, RuleError
from tocsin.pipeline.replay import read_silences, read_snapshot, replay, snapshot_files
from tocsin.pipeline.report import ReplayRecord, write_report
from tocsin.rulebook import load_rulebook


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
    parser.add_argument("--strict", action="store_true",
                        help="stop at the first unreadable snapshot (default: skip it with a warning)")
    parser.add_argument("snapshots", nargs="+", type=Path, metavar="SNAPSHOT",
                        help="feed files, or directories of them (processed in file-name order)")
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
    snapshots = []
    for path in snapshot_files(args.snapshots):
        try:
            snapshots.append(read_snapshot(path))
        except ParseError as exc:
            if args.strict:
                print_problems([str(exc)])
                return EX_FAILURE
            # One bad file in a directory of 67 must not cost the alerts of the other 66.
            print(f"warning: {exc}; skipped (--strict stops instead)", file=sys.stderr)
    record = ReplayRecord.for_rules(rules.escalation) if args.report else None
    try:
        for alert in replay(snapshots, settings, rules, silences, until, record.sample if record else None):
            if record is not None:
                record.alerts.append(alert)
            if args.json:
                print(json.dumps(alert.to_json(), ensure_ascii=False), flush=False)
            else:
                created = alert.created.isoformat().replace("+00:00", "Z")
                print(f"{created}  {alert.kind:<17}  {alert.severity.value:<8}  {alert.title}")
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
