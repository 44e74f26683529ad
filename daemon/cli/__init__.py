"""The `tocsin` command: one module per subcommand; each parses and prints, and calls into the stages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from daemon import __version__
from daemon.cli import alerts, check, feeds, match, replay, run, send_test, silence
from daemon.cli.common import EX_USAGE

COMMANDS = (run, check, feeds, match, replay, alerts, silence, send_test)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tocsin", description="Crisis-monitoring alert daemon: polls news feeds and rings when conflict escalates."
    )
    parser.add_argument("--version", action="version", version=f"tocsin {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `tocsin alerts | head` closes our stdout early; that is not an error.
        sys.stderr.close()
        return 0
    except SystemExit:
        raise
    except argparse.ArgumentError as exc:
        print(f"tocsin: {exc}", file=sys.stderr)
        return EX_USAGE
