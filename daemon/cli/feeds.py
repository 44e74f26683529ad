"""`tocsin feeds`: the health of every configured feed, from the state database; `feeds import LIST.opml` and
`feeds export`: the subscription lists feed readers exchange (OPML), into and out of the configuration.

Exit codes of import and export: 0 done, 1 the OPML file cannot be read or is not OPML, 78 the configuration is
invalid (before the import, or as it would be after it: then the file is left as it was).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

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
from tocsin.cli.table import Cell, render_table
from tocsin.config import load_config
from tocsin.errors import ConfigError, ParseError
from tocsin.store.feeds import FeedState, FeedStates
from tocsin.units import format_duration
from tocsin.urls import redact_url, url_secrets


def register(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    parser.add_argument("--json", action="store_true", help="one JSON array, for scripts")
    add_color_argument(parser)
    actions = parser.add_subparsers(dest="feeds_action", metavar="ACTION")
    imported = actions.add_parser("import", help="add the feeds of an OPML subscription list to a configuration "
                                                 "file (or print them as [[feeds]] entries)")
    imported.add_argument("opml", metavar="LIST.opml", type=Path, help="an OPML file, as feed readers export")
    # SUPPRESS: given before or after the action, --config means the same (a default here would undo the parent's).
    imported.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS,
                          help="the configuration file to add the feeds to, its comments kept (default: print them)")
    imported.set_defaults(handler=handle_import)
    exported = actions.add_parser("export", help="print the configured feeds as an OPML subscription list")
    exported.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="as for tocsin feeds")
    exported.add_argument("--output", "-o", metavar="FILE", type=Path, help="write it to FILE (default: stdout)")
    exported.set_defaults(handler=handle_export)
    parser.set_defaults(handler=handle)


def handle_import(args: argparse.Namespace) -> int:
    # Imported here: `tocsin feeds` itself should not pay for tomlkit and the OPML reader.
    from tocsin.config.feed_list import add_feeds, choose, feed_tables
    from tocsin.parse.opml import read_opml

    try:
        listed = read_opml(args.opml.read_bytes(), str(args.opml))
    except (OSError, ParseError) as exc:
        print_problems([f"{args.opml}: cannot read: {exc.strerror}" if isinstance(exc, OSError) else str(exc)])
        return EX_FAILURE
    try:
        if args.config is None:
            chosen = choose(listed, (), ())
            print(feed_tables(chosen.added, args.opml.name), end="")
        else:
            settings = load_config(args.config)
            chosen = choose(listed, (feed.name for feed in settings.feeds), (feed.url for feed in settings.feeds))
            _rewrite(Path(args.config), lambda text: add_feeds(text, chosen.added, args.opml.name, args.config))
    except ConfigError as exc:
        print_problems(exc.problems)
        return EX_CONFIG
    where = f" to {args.config}" if args.config else ""
    print(f"{len(chosen.added)} feed(s) added{where}" + "".join(
        f"; {len(urls)} {why}" for urls, why in ((chosen.already_polled, "already polled or listed twice"),
                                                (chosen.not_http, "not http(s), left out")) if urls),
          file=sys.stderr)
    for url in chosen.not_http:
        print(f"  left out: {url}", file=sys.stderr)
    return EX_OK


def _rewrite(path: Path, edit: Callable[[str], str]) -> None:
    """Replace the configuration file by its edited text, only once that text loads as a valid configuration;
    atomically (a temporary file beside it, renamed over it), keeping its permissions."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read the configuration ({exc})"]) from None
    edited = edit(text)
    handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".toml", dir=path.parent)
    temporary = Path(name)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(edited)
        try:
            load_config(temporary)
        except ConfigError as exc:
            shown = [problem.replace(str(temporary.resolve()), str(path)).replace(name, str(path))
                     for problem in exc.problems]
            raise ConfigError([*shown, f"{path}: left as it was"]) from None
        temporary.chmod(path.stat().st_mode & 0o7777)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)


def handle_export(args: argparse.Namespace) -> int:
    from tocsin.parse.opml import Subscription, write_opml

    try:
        settings = load_config(args.config)
    except ConfigError as exc:
        print_problems(exc.problems)
        return EX_CONFIG
    listed = [Subscription(feed.name, feed.url, feed.tags) for feed in settings.feeds]
    document = write_opml(listed, f"tocsin feeds ({settings.source})", datetime.now(UTC))
    with_secrets = sum(bool(url_secrets(feed.url)) for feed in settings.feeds)
    if args.output is None:
        print(document.decode("utf-8"), end="")  # through the command line's redaction, like all output
        if with_secrets:
            print(f"note: {with_secrets} feed URL(s) hold secret-looking parts, masked here as everywhere tocsin "
                  "prints; --output FILE writes them as configured, to a file only you can read", file=sys.stderr)
        return EX_OK
    # A file the operator names is a copy of the configuration's feed list, so it holds the URLs as configured
    # (another reader needs them whole), readable by its owner only when any holds a secret-looking part.
    with args.output.open("wb") as file:
        if with_secrets:
            args.output.chmod(0o600)
        file.write(document)
    print(f"{len(listed)} feed(s) written to {args.output}", file=sys.stderr)
    return EX_OK


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
    print(_table(rows, enabled, datetime.now(UTC), Palette.for_stream(args.color, sys.stdout)))
    return EX_OK


HEALTH_STYLES: dict[str, Style] = {"ok": "ok", "failing": "alarm", "gone": "alarm", "new": "dim", "disabled": "dim"}


def _table(rows: list[FeedState], enabled: dict[str, bool], now: datetime, palette: Palette) -> str:
    header = ("FEED", "HEALTH", "STATUS", "LAST OK", "FAILS", "NEXT POLL", "ITEMS", "PROBLEM")
    lines: list[list[Cell]] = []
    for state in rows:
        health = state.health if enabled[state.name] else "disabled"
        problem = (state.last_error if state.consecutive_failures else state.warning) or ""
        lines.append([
            state.name, (health, HEALTH_STYLES.get(health)), str(state.last_status or "-"),
            _ago(state.last_success_at, now), str(state.consecutive_failures),
            _until(state.next_poll_at, now) if health != "gone" else "never", str(state.items_total),
            (problem, "alarm" if state.consecutive_failures else "warn"),
        ])
    return render_table(header, lines, palette)


def _ago(when: datetime | None, now: datetime) -> str:
    return f"{format_duration(now - when)} ago" if when else "never"


def _until(when: datetime | None, now: datetime) -> str:
    if when is None:
        return "-"
    return f"in {format_duration(when - now)}" if when > now else "due"
