"""`tocsin completion bash|zsh`: a shell completion script written by shtab from the argparse definitions of every
command, so completion never lags behind a new option. The script is static: completing costs the shell nothing
and runs no Python (argcomplete would start the interpreter on every Tab).

    tocsin completion bash > /etc/bash_completion.d/tocsin
    tocsin completion zsh > "${fpath[1]}/_tocsin"
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import shtab

from tocsin.cli.common import EX_OK

SHELLS = ("bash", "zsh")
_FILE_METAVARS = {"PATH", "FILE", "SOURCE", "SNAPSHOT"}
"""Metavars that name a file (so do those with a suffix: LABELS.jsonl); DIR names a directory."""


def register(parser: argparse.ArgumentParser) -> None:
    parser.description = "Print a completion script for SHELL on stdout; install it as the shell expects (README)."
    parser.add_argument("shell", choices=SHELLS, help="the shell to complete in")
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from tocsin.cli import build_parser

    parser = build_parser([], every_command=True)
    for action in _actions(parser):
        _complete_paths(action)
    print(shtab.complete(parser, shell=args.shell))
    return EX_OK


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    """Every action of `parser` and of its commands, at any depth. Each command's one-line help becomes its
    description, which is what zsh lists beside a command (a description is a paragraph, too long there)."""
    for action in parser._actions:  # argparse keeps them only there; shtab reads the same list
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for listed in action._choices_actions:
                action.choices[listed.dest].description = listed.help
            for sub in action.choices.values():
                yield from _actions(sub)


def _complete_paths(action: argparse.Action) -> None:
    """Tab after --config, --rules, a snapshot or a labels file offers files (after DIR, directories): the
    commands' metavars and types already say which arguments hold a path."""
    metavar = action.metavar if isinstance(action.metavar, str) else ""
    if metavar == "DIR":
        action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
    elif action.type is Path or metavar in _FILE_METAVARS or "." in metavar:
        action.complete = shtab.FILE  # type: ignore[attr-defined]
