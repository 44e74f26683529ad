"""`tocsin silence add|list|expire|alerts`: hold back matching alerts for a while; they are recorded, not sent."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import get_args

from tocsin.alert_kinds import AlertKind
from tocsin.alerts import iso
from tocsin.cli.colour import SEVERITY_STYLES, Palette, Style, add_color_argument
from tocsin.cli.common import (
    EX_CONFIG,
    EX_FAILURE,
    EX_OK,
    EX_USAGE,
    add_config_argument,
    print_json_array,
    print_problems,
    text_time,
)
from tocsin.cli.table import Cell, render_table
from tocsin.config import load_config
from tocsin.deliver.base import one_line
from tocsin.errors import ConfigError, RuleError, StoreError
from tocsin.escalate.silences import MATCHER_HINT, Matcher, Silences, unknown_values
from tocsin.matching.rules import RuleSet
from tocsin.rulebook import load_rulebook
from tocsin.severity import Severity
from tocsin.store.backend import open_store
from tocsin.units import format_duration, parse_duration


def register(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="silence_action", metavar="ACTION", required=True)

    add = actions.add_parser("add", help="silence matching alerts for a while")
    add.add_argument("--match", action="append", default=[], metavar="KEY=VALUE", required=True,
                     help=f"all must match; {MATCHER_HINT}")
    add.add_argument("--for", dest="duration", required=True, metavar="DURATION", help="how long, e.g. 6h or 2d")
    add.add_argument("--start", metavar="ISO8601", help="when it begins (default: now)")
    add.add_argument("--comment", default="", help="why, for the next person on shift")
    add.set_defaults(handler=lambda args: _with_silences(args, _add))

    listing = actions.add_parser("list", help="silences running or pending")
    listing.add_argument("--all", action="store_true", help="include expired silences")
    listing.add_argument("--json", action="store_true", help="one JSON array, like feeds and alerts --json")
    add_color_argument(listing)
    listing.set_defaults(handler=lambda args: _with_silences(args, _list))

    expire = actions.add_parser("expire", help="end a silence now")
    expire.add_argument("id", help="the silence id (sil_...)")
    expire.set_defaults(handler=lambda args: _with_silences(args, _expire))

    held = actions.add_parser("alerts", help="alerts held back by silences or re-alert intervals, newest first")
    held.add_argument("id", nargs="?", help="only those of this silence")
    held.add_argument("--limit", type=int, default=50)
    held.add_argument("--json", action="store_true", help="one JSON array, like feeds and alerts --json")
    add_color_argument(held)
    held.set_defaults(handler=lambda args: _with_silences(args, _alerts))

    for sub in (add, listing, expire, held):
        add_config_argument(sub)


@contextmanager
def _open(args: argparse.Namespace) -> Iterator[Silences]:
    settings = load_config(args.config)
    db = open_store(settings)
    try:
        yield Silences(db)
    finally:
        db.close()


def _with_silences(args: argparse.Namespace, action: Callable[[argparse.Namespace, Silences], int]) -> int:
    try:
        with _open(args) as silences:
            return action(args, silences)
    except ConfigError as exc:
        print_problems(exc.problems)
        return EX_CONFIG
    except StoreError as exc:
        print_problems([str(exc)])
        return EX_FAILURE
    except ValueError as exc:
        print_problems([str(exc)])
        return EX_USAGE


def _add(args: argparse.Namespace, silences: Silences) -> int:
    now = datetime.now(UTC)
    matchers = tuple(Matcher.parse(text) for text in args.match)
    starts = datetime.fromisoformat(args.start) if args.start else now
    if starts.tzinfo is None:
        raise ValueError(f'--start "{args.start}" needs a time zone, e.g. 2026-03-01T08:00Z')
    silence = silences.add(matchers, starts.astimezone(UTC), parse_duration(args.duration), args.comment, now)
    for warning in unknown_values(matchers, _known_values(args)):
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{silence.id} silences {' '.join(args.match)} until {text_time(silence.ends_at)}")
    return EX_OK


def _known_values(args: argparse.Namespace) -> dict[str, Collection[str]]:
    """What the matchers of a silence can name, from the configuration and its rules: rule ids, tags, places,
    actors, feeds, alert kinds and severities. Rules that do not load leave rules, tags, places and actors
    unchecked (`tocsin check` reports what is wrong with them)."""
    settings = load_config(args.config)
    known: dict[str, Collection[str]] = {"kind": get_args(AlertKind), "severity": [level.value for level in Severity],
                                         "feed": [feed.name for feed in settings.feeds]}
    try:
        rulebook = load_rulebook(settings.rule_paths)
    except RuleError:
        return known
    if isinstance(rulebook.matching, RuleSet):
        rules, entries = rulebook.matching.rules, rulebook.matching.gazetteer.entries
        known["rule"] = [rule.id for rule in rules] + [rule.id for rule in rulebook.escalation.rules]
        known["tag"] = sorted({tag for rule in rules for tag in rule.tags})
        known["place"] = [entry.name for entry in entries if entry.kind == "place"]
        known["actor"] = [entry.name for entry in entries if entry.kind == "actor"]
    return known


def _list(args: argparse.Namespace, silences: Silences) -> int:
    now = datetime.now(UTC)
    listed = silences.current(now, include_expired=args.all)
    if args.json:
        print_json_array({**silence.to_json(), "suppressed": silences.suppressed_count(silence.id)}
                         for silence in listed)
        return EX_OK
    if not listed:
        # stderr: a script reading the list still sees an empty stdout.
        print("no silences" + ("" if args.all else " running or pending (--all shows ended ones)"), file=sys.stderr)
        return EX_OK
    rows: list[list[Cell]] = []
    for silence in listed:
        state = "active" if silence.active(now) else ("pending" if silence.starts_at > now else "expired")
        left = format_duration(silence.ends_at - now) if silence.ends_at > now else "ended"
        rows.append([silence.id, (state, _STATE_STYLES[state]), text_time(silence.ends_at), left,
                     str(silences.suppressed_count(silence.id)), " ".join(map(str, silence.matchers)),
                     silence.comment])
    print(render_table(("ID", "STATE", "ENDS", "LEFT", "HELD", "MATCHERS", "COMMENT"), rows,
                       Palette.for_stream(args.color, sys.stdout)))
    return EX_OK


_STATE_STYLES: dict[str, Style] = {"active": "warn", "pending": "dim", "expired": "dim"}
"""An active silence holds alerts back: worth the eye."""


def _expire(args: argparse.Namespace, silences: Silences) -> int:
    if silences.expire(args.id, datetime.now(UTC)):
        print(f"{args.id} expired")
        return EX_OK
    print(f"error: no running or pending silence {args.id} (see `tocsin silence list`)", file=sys.stderr)
    return EX_FAILURE


def _alerts(args: argparse.Namespace, silences: Silences) -> int:
    found = silences.suppressed(args.id, limit=args.limit)
    if args.json:
        print_json_array({"reason": held.reason, "silence": held.silence_id, "at": iso(held.at),
                          "alert": held.alert.to_json()} for held in found)
        return EX_OK
    palette = Palette.for_stream(args.color, sys.stdout)
    for held in found:
        why = held.silence_id or held.reason
        severity = palette.paint(held.alert.severity.value, SEVERITY_STYLES[held.alert.severity], width=8)
        print(f"{text_time(held.at)}  {why:<16}  {held.alert.kind:<17}  {severity}  {one_line(held.alert.title)}")
    return EX_OK
