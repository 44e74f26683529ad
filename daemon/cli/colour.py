"""Colour in the commands' output: one decision for every command (`--color=auto|always|never`, NO_COLOR, whether
the stream is a terminal) and the few styles they use, as ANSI SGR sequences.

Written by hand, not with a library: the styles are five fixed escape sequences, and the decision is the part
that must be right. termcolor reads NO_COLOR but decides from sys.stdout whatever stream is written to, and has
no --color=always for a pipe; rich would bring a rendering engine to colour a few words. Feed text is flattened
(`one_line`) before it is shown, so no escape sequence in it reaches the terminal either way.
"""

from __future__ import annotations

import argparse
import os
from typing import Literal, TextIO

from tocsin.severity import Severity

Style = Literal["alarm", "warn", "ok", "dim", "strong"]
_SEQUENCES: dict[Style, str] = {
    "alarm": "\033[1;31m",  # bold red: evidence, critical and failing
    "warn": "\033[33m",  # yellow
    "ok": "\033[32m",  # green
    "dim": "\033[2m",
    "strong": "\033[1m",  # headers
}
_RESET = "\033[0m"
SEVERITY_STYLES: dict[Severity, Style] = {
    Severity.CRITICAL: "alarm", Severity.HIGH: "alarm", Severity.MEDIUM: "warn", Severity.LOW: "dim",
    Severity.INFO: "dim",
}


def add_color_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--color", choices=("auto", "always", "never"), default="auto",
                        help="colour the output: auto (on a terminal, unless NO_COLOR is set), always or never")


def use_color(choice: str, stream: TextIO) -> bool:
    """Whether to write colour to `stream`: an explicit --color wins; auto means a terminal and no NO_COLOR
    (https://no-color.org: any non-empty value turns colour off)."""
    if choice != "auto":
        return choice == "always"
    return stream.isatty() and not os.environ.get("NO_COLOR")


class Palette:
    """Paints text in a style when colour is on, and leaves it as it is when off."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    @classmethod
    def for_stream(cls, choice: str, stream: TextIO) -> Palette:
        return cls(use_color(choice, stream))

    def paint(self, text: str, style: Style | None, width: int = 0) -> str:
        """`text` in `style`, then padded with spaces to `width` (outside the colour, so columns line up as
        without it and no style runs into the gap)."""
        padding = " " * (width - len(text))
        if not self.enabled or style is None or not text:
            return text + padding
        return f"{_SEQUENCES[style]}{text}{_RESET}{padding}"
