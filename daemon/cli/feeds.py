"""`tocsin feeds`: the health of every configured feed, from the state database."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from tocsin.cli.common import EX_OK, add_config_argument, open_state, print_json_array
from tocsin.store.feeds import FeedState, FeedStates
from tocsin.units import format_duration
from tocsin.urls import redact_url


def register(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="one JSON array, for scripts")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    opened = open_state(args)
    if isinstance(opened, int):
        return opened
    settings, db = opened
    try:
        states = {state.name: state for state in FeedStates(db).all()}
    finally:
        db.close()
    enabled = {feed.name: feed.enabled for feed in settings.feeds}
    # A feed added since the daemon last synced its state shows as new; one whose url changed starts over. The
    # state keeps urls redacted (store/feeds.py), and so do these rows.
    rows = [
        states[feed.name] if feed.name in states and states[feed.name].url == redact_url(feed.url)
        else FeedState(feed.name, redact_url(feed.url))
        for feed in settings.feeds
    ]
    if args.json:
        print_json_array({**state.to_json(), "enabled": enabled[state.name]} for state in rows)
        return EX_OK
    print(_table(rows, enabled, datetime.now(UTC)))
    return EX_OK


def _table(rows: list[FeedState], enabled: dict[str, bool], now: datetime) -> str:
    header = ("FEED", "HEALTH", "STATUS", "LAST OK", "FAILS", "NEXT POLL", "ITEMS", "PROBLEM")
    lines = [header]
    for state in rows:
        health = state.health if enabled[state.name] else "disabled"
        lines.append((
            state.name, health, str(state.last_status or "-"), _ago(state.last_success_at, now),
            str(state.consecutive_failures), _until(state.next_poll_at, now) if health != "gone" else "never",
            str(state.items_total), (state.last_error if state.consecutive_failures else state.warning) or "",
        ))
    widths = [max(len(line[column]) for line in lines) for column in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line[:-1], widths, strict=True)) + "  " + line[-1]
        for line in lines
    ).rstrip()


def _ago(when: datetime | None, now: datetime) -> str:
    return f"{format_duration(now - when)} ago" if when else "never"


def _until(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    return f"in {format_duration(when - now)}" if when > now else "due"
