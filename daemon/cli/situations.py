"""`tocsin situations [show KEY]`: the situations holding a level now, or one situation's timeline."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from tocsin.cli.colour import Palette, Style, add_color_argument
from tocsin.cli.common import (
    EX_CONFIG,
    EX_FAILURE,
    EX_OK,
    add_config_argument,
    open_state,
    print_json_array,
    print_problems,
)
from tocsin.deliver.base import one_line
from tocsin.errors import RuleError
from tocsin.escalate.overview import Change, SituationNow, current, timeline
from tocsin.escalate.situations import Signal, Situations
from tocsin.escalate.throttle import Throttle
from tocsin.rulebook import load_rulebook
from tocsin.units import format_duration


def register(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="one JSON array, for scripts")
    add_color_argument(parser)
    actions = parser.add_subparsers(dest="situations_action", metavar="ACTION")
    show = actions.add_parser("show", help="a situation's level changes and signals, with the items behind them")
    show.add_argument("key", help="the situation, as listed (place:Afghanistan)")
    # SUPPRESS: given before or after `show`, the options mean the same (a default here would undo the parent's).
    show.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="one JSON array of the events")
    show.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="as for tocsin situations")
    show.add_argument("--color", choices=("auto", "always", "never"), default=argparse.SUPPRESS,
                      help="as for tocsin situations")
    parser.set_defaults(handler=handle)


LEVEL_STYLES: dict[str, Style] = {"critical": "alarm", "high": "alarm", "elevated": "warn", "watch": "dim"}
"""The shipped ladder's level names; a level a configuration names otherwise is shown unpainted."""


def handle(args: argparse.Namespace) -> int:
    opened = open_state(args)
    if isinstance(opened, int):
        return opened
    settings, db = opened
    try:
        # The escalation rules say which rules concern a situation and how its score decays.
        try:
            rules = load_rulebook(settings.rule_paths)
        except RuleError as exc:
            print_problems(exc.problems)
            return EX_CONFIG
        situations = Situations(db, settings.escalation, rules.escalation, Throttle(db))
        palette = Palette.for_stream(args.color, sys.stdout)
        if args.situations_action == "show":
            return _show(situations, args.key, as_json=args.json, palette=palette)
        _list(current(situations, datetime.now(UTC)), as_json=args.json, palette=palette)
        return EX_OK
    finally:
        db.close()


def _list(found: list[SituationNow], *, as_json: bool, palette: Palette) -> None:
    if as_json:
        print_json_array(situation.to_json() for situation in found)
        return
    if not found:
        print("No situation holds a level.")
        return
    now = datetime.now(UTC)
    for situation in found:
        score = "-" if situation.score is None else f"{situation.score:.1f}"
        falling = f", falling since {_when(situation.falling_since)}" if situation.falling_since else ""
        level = palette.paint(situation.level, LEVEL_STYLES.get(situation.level))
        print(f"{situation.key}  {level}  score {score}  since {_when(situation.since)} "
              f"({format_duration(now - situation.since)} ago){falling}")
        for reason in situation.reasons:
            print(f"    {reason}")
        for signal in situation.signals:
            print(f"    - {_when(signal.at)}  {signal.tag}: {_item(signal)}")


def _show(situations: Situations, key: str, *, as_json: bool, palette: Palette) -> int:
    events = timeline(situations, key)
    if events is None:
        known = [row[0] for row in situations.db.connection.execute(
            "SELECT situation FROM situations ORDER BY level DESC, changed_at DESC LIMIT 5")]
        hint = f" (known: {', '.join(known)})" if known else " (no situation is recorded yet)"
        print_problems([f'no situation "{one_line(key, 100)}" in the state database{hint}'])
        return EX_FAILURE
    if as_json:
        print_json_array(event.to_json() if isinstance(event, Change) else {"event": "signal", **event.to_json()}
                         for event in events)
        return EX_OK
    for event in events:
        print(_line(event, palette))
    return EX_OK


def _line(event: Change | Signal, palette: Palette) -> str:
    if isinstance(event, Change):
        announced = "  (alerted)" if event.alerted else ""
        level = palette.paint(event.level, LEVEL_STYLES.get(event.level))
        return f"{_when(event.at)}  level {event.previous} -> {level}{announced}  {event.reason}"
    return f"{_when(event.at)}    {event.tag} ({event.rule}): {_item(event)}  {one_line(event.item.link)}"


def _item(signal: Signal) -> str:
    """Feed text flattened, so that it cannot move the cursor or fake a line of its own."""
    return f"{one_line(signal.item.title, 160)} ({one_line(signal.item.feed, 60)})"


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M") if at else "-"
