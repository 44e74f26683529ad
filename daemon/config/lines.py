"""The line of a configuration key in the file's text, for `tocsin check --json` (editors jump to it).

tomllib gives no positions, and no TOML library that keeps them gives them per key, so the text is scanned: table
headers (`[http]`, `[[feeds]]`, counted per array), `key =` lines and dotted keys, each giving the key path it
starts. A key inside an inline table or a multi-line array is placed at the line of the key that holds it.
"""

from __future__ import annotations

import re

from tocsin.config.consistency import Location

_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\"' ]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\"']+(?:\s*\.\s*[A-Za-z0-9_\-\"']+)*)\s*=")


def key_lines(text: str) -> dict[Location, int]:
    """The first line of each table and key the text writes, by its path (`("feeds", 1, "url")`)."""
    lines: dict[Location, int] = {}
    counts: dict[Location, int] = {}
    table: Location = ()
    depth = 0  # brackets open on earlier lines: inside a multi-line array or inline table no key starts a line
    for number, line in enumerate(text.splitlines(), start=1):
        if depth == 0 and (header := _HEADER.match(line)):
            path = _dotted(header[2])
            if header[1] == "[[":
                index = counts.get(path, -1) + 1
                counts[path] = index
                table = (*path, index)
            else:
                table = path
            lines.setdefault(table, number)
            continue
        if depth == 0 and (key := _KEY.match(line)):
            lines.setdefault((*table, *_dotted(key[1])), number)
        depth = max(0, depth + _open_brackets(line))
    return lines


def line_of(location: Location, lines: dict[Location, int]) -> int | None:
    """The line of the key at `location`, else of the nearest key or table that holds it."""
    for end in range(len(location), 0, -1):
        if (found := lines.get(location[:end])) is not None:
            return found
    return None


def _dotted(key: str) -> Location:
    return tuple(part.strip().strip("\"'") for part in key.split("."))


def _open_brackets(line: str) -> int:
    """Brackets and braces opened minus closed on a line, outside strings and comments."""
    balance = 0
    quote = ""
    escaped = False
    for char in line:
        if quote:
            if escaped:
                escaped = False
            elif char == "\\" and quote == '"':
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "#":
            break
        elif char in "[{":
            balance += 1
        elif char in "]}":
            balance -= 1
    return balance
