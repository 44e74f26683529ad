"""The `tocsin` command: one module per subcommand; each parses and prints, and calls into the stages.

Only the module of the command being run is imported (and it imports the stages it needs when it runs), so
`tocsin --version`, `--help` and a light command do not pay for the daemon's imports; COMMANDS names every
command and its one-line help for the listing.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from tocsin import __version__
from tocsin.cli.common import EX_FAILURE, EX_USAGE, collector_paused, print_problems
from tocsin.cli.redacted import redacted_output
from tocsin.errors import StoreError

COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "poll feeds and send alerts until stopped"),
    "check": ("check", "validate the configuration and rules"),
    "init": ("init", "write a starter configuration (and a copy of the rules) into a directory"),
    "feeds": ("feeds", "show the health of every feed"),
    "match": ("match", "run the rules on feed files, URLs or text from stdin, and print what fires"),
    "eval": ("eval", "measure the rules on labelled items: precision, recall and F1 per tag"),
    "replay": ("replay", "run feed snapshots through the pipeline with a simulated clock and print the alerts"),
    "situations": ("situations", "the situations holding a level now (show KEY: one situation's timeline)"),
    "alerts": ("alerts", "list pending, dead and recent alerts; requeue dead ones"),
    "silence": ("silence", "add, list or expire silences"),
    "store": ("store", "move the SQLite state into PostgreSQL (store migrate --to postgresql://...)"),
    "send-test": ("send_test", "send a test alert to one receiver and report the outcome"),
    "feedback": ("feedback", "record an alert as a false positive or an item as missed, for tocsin eval"),
    "completion": ("completion", "print a bash or zsh completion script for tocsin"),
}
"""command -> (its module in tocsin.cli, its one-line help)"""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits 64 (EX_USAGE) like every other usage error tocsin reports."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EX_USAGE, f"{self.prog}: error: {message}\n")


def build_parser(argv: Sequence[str] | None = None, *, every_command: bool = False) -> argparse.ArgumentParser:
    """The parser for `argv`: the named command's own arguments are set up by its module, the others are listed;
    with `every_command`, every command's arguments (what a completion script is written from)."""
    parser = _Parser(
        prog="tocsin", description="Crisis-monitoring alert daemon: polls news feeds and rings when conflict escalates."
    )
    parser.add_argument("--version", action="version", version=f"tocsin {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    chosen = next((arg for arg in (sys.argv[1:] if argv is None else argv) if not arg.startswith("-")), None)
    for name, (module, summary) in COMMANDS.items():
        command = commands.add_parser(name, help=summary)
        if every_command or name == chosen:
            importlib.import_module(f"tocsin.cli.{module}").register(command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    whole_process = argv is None  # the command line of this process, not a call from other code
    with collector_paused(whole_process=whole_process):  # the chosen command's module is imported here
        parser = build_parser(argv)
    args = parser.parse_args(argv)
    args.whole_process = whole_process
    try:
        with redacted_output():
            return _handle(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `tocsin alerts | head` closes our stdout early; that is not an error.
        sys.stderr.close()
        return 0


def _handle(args: argparse.Namespace) -> int:
    """The command, with what it did not catch reported inside the redacted output: a traceback printed by the
    interpreter after `main` returns would bypass it, and its messages may hold a URL's password or a token."""
    try:
        return int(args.handler(args))
    except StoreError as exc:
        # The state store failed mid-command (a full disk, ...): its message names the store and the fix.
        print_problems([str(exc)])
        return EX_FAILURE
    except BrokenPipeError:
        raise
    except Exception:
        traceback.print_exc()
        return EX_FAILURE
