"""The `tocsin` command: one module per subcommand; each parses and prints, and calls into the stages."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

from tocsin import __version__
from tocsin.cli import alerts, check, eval, feeds, init, match, replay, run, send_test, silence, situations
from tocsin.cli.common import EX_USAGE

COMMANDS = (run, check, init, feeds, match, eval, replay, situations, alerts, silence, send_test)


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 64 (EX_USAGE) like every other usage error tocsin reports."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tocsin", description="Crisis-monitoring alert daemon: polls news feeds and rings when conflict escalates."
    )
    parser.add_argument("--version", action="version", version=f"tocsin {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
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
