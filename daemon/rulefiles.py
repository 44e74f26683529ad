"""Rule files, read once: found, TOML-parsed, and given one way to place and word a problem.

Every load (`tocsin run`, a reload, `check`, `match`, `replay`) reads each rule file here once and hands the parsed
tables to the compilers: `matching/load.py` for `[[rule]]`, `[[unit]]`, `[[place]]`, `[[actor]]` and `[terms]`,
`escalate/rules.py` for `[[escalation]]`. A problem is always worded `file:line: subject: message`, the subject
being `rule "id"`, `escalation rule "id"`, `unit "name"` and so on, and every problem of every file is collected
before the load fails.

A new top-level table is one entry in TABLE_ARRAYS (or TOP_LEVEL_KEYS for a plain table) plus the compiler that
reads it. tomllib gives no positions, so lines are found by scanning the text for table headers and keys.
"""

from __future__ import annotations

import difflib
import json
import re
import tomllib
from bisect import bisect_right
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from tocsin.errors import Problem, RuleError

TABLE_ARRAYS = ("rule", "unit", "place", "actor", "escalation")
"""Top-level arrays of tables, written `[[kind]]`."""
TOP_LEVEL_KEYS = (*TABLE_ARRAYS, "terms")
_Compiled = TypeVar("_Compiled")


def rule_files(paths: Sequence[Path]) -> tuple[list[Path], Problems]:
    """The *.toml files under `paths` (a directory or a file each), and a problem for each path that is missing."""
    files: list[Path] = []
    problems = Problems()
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.toml")))
        elif path.is_file():
            files.append(path)
        else:
            problems.add_at(shown(path), None, "", "rule path does not exist")
    return files, problems


def shown(path: Path) -> str:
    """The path as an operator typed it: relative to the working directory when it lies below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def did_you_mean(key: str, known: Sequence[str], known_as: str = "known keys") -> str:
    """` (did you mean "x"?)` for a near miss, else the list of what is known, worded `(known_as: a, b)`."""
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else f" ({known_as}: {', '.join(known)})"


class RuleFile:
    """One parsed rule file and the line of a table or a key in its text."""

    def __init__(self, path: Path, text: str, data: dict[str, Any]) -> None:
        self.path = path
        self.name = shown(path)
        self.lines = text.splitlines()
        self.data = data
        self.headers = {kind: self._headers(kind) for kind in TABLE_ARRAYS}
        self._all_headers = sorted(line for lines in self.headers.values() for line in lines)

    def _headers(self, kind: str) -> list[int]:
        header = re.compile(rf"^\s*\[\[\s*{kind}\s*\]\]")
        return [number for number, line in enumerate(self.lines, start=1) if header.match(line)]

    def top_line(self, key: str) -> int | None:
        """The line of a top-level key or table header."""
        pattern = re.compile(rf"^\s*(?:\[\[?\s*{re.escape(key)}\s*\]|{re.escape(key)}\s*=)")
        return next((number for number, line in enumerate(self.lines, start=1) if pattern.match(line)), None)

    def line(self, kind: str, index: int, key: str | None = None) -> int | None:
        """The line of `key` in the index-th `[[kind]]` table (its header without a key or when the key is not
        found); None when the table has no header (an inline array)."""
        span = self._span(kind, index)
        if span is None:
            return None
        first, last = span
        if key is None:
            return first
        exact = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        table = re.compile(rf"^\s*\[\[?\s*{kind}\s*\.\s*{re.escape(key)}\b")
        anywhere = re.compile(rf"(?<![\w-]){re.escape(key)}\s*=")
        for pattern in (exact, table, anywhere):
            for number in range(first, last):
                if pattern.search(self.lines[number - 1]):
                    return number
        return first

    def string_line(self, kind: str, index: int, value: str, key: str) -> int | None:
        """The line, from `key` on in the index-th `[[kind]]` table, where the string `value` starts (found by its
        first characters, quoted as written or TOML-escaped); the line of `key` when no line holds it."""
        span = self._span(kind, index)
        key_line = self.line(kind, index, key)
        start = value.split("\n", 1)[0][:40]
        if span is None or key_line is None or not start:
            return key_line
        quoted = (f'"{json.dumps(start, ensure_ascii=False)[1:-1]}', f"'{start}", f'"{start}')
        for number in range(key_line, span[1]):
            if any(form in self.lines[number - 1] for form in quoted):
                return number
        return key_line

    def _span(self, kind: str, index: int) -> tuple[int, int] | None:
        """The first line of the index-th `[[kind]]` table and the line after its last."""
        headers = self.headers[kind]
        if index >= len(headers):
            return None
        first = headers[index]
        following = bisect_right(self._all_headers, first)
        return first, self._all_headers[following] if following < len(self._all_headers) else len(self.lines) + 1

    def tables(self, kind: str, problems: Problems) -> list[dict[str, Any]]:
        """The `[[kind]]` tables of this file; a problem and none when `kind` is not an array of tables."""
        value = self.data.get(kind, [])
        if not isinstance(value, list) or not all(isinstance(table, dict) for table in value):
            problems.add(self, self.top_line(kind), "", f'"{kind}" must be written as [[{kind}]] tables')
            return []
        return value


@dataclass
class Problems:
    """Every problem of one load, in one wording."""

    found: list[Problem] = field(default_factory=list)

    def add(self, where: RuleFile, line: int | None, subject: str, message: str) -> None:
        self.add_at(where.name, line, subject, message)

    def add_at(self, name: str, line: int | None, subject: str, message: str,
               severity: Literal["error", "warning"] = "error") -> None:
        """A problem placed by a file's name, for checks that run after the files are compiled."""
        self.found.append(Problem(message, file=name, line=line, subject=subject or None, severity=severity))

    def in_order(self) -> list[Problem]:
        """The problems by file, then line (a problem of a whole file first): the compilers report in the order
        they check, a reader wants the order of the file."""
        return sorted(self.found, key=lambda problem: (problem.file or "", problem.line or 0))

    def in_file_order(self) -> list[str]:
        """The problems in file order, one line each."""
        return [str(problem) for problem in self.in_order()]

    def __len__(self) -> int:
        return len(self.found)


@dataclass
class RuleFiles:
    """What one read of the rule paths found: the files, those that parsed, and the problems so far."""

    files: tuple[Path, ...]
    parsed: list[RuleFile]
    problems: Problems


def read_rule_files(paths: Sequence[Path]) -> RuleFiles:
    """Find, read and parse every rule file under `paths`; unreadable files, TOML errors and unknown top-level
    keys become problems, and the files that parsed are returned for the compilers."""
    files, problems = rule_files(paths)
    parsed = [source for path in files if (source := _parse(path, problems))]
    for source in parsed:
        for key in source.data:
            if key not in TOP_LEVEL_KEYS:
                hint = did_you_mean(key, TOP_LEVEL_KEYS, "a rule file holds")
                problems.add(source, source.top_line(key), "", f'unknown top-level key "{key}"{hint}')
    return RuleFiles(tuple(files), parsed, problems)


def compile_rule_files(paths: Sequence[Path], compile_read: Callable[[RuleFiles], _Compiled]) -> _Compiled:
    """Read the rule files under `paths` and compile them with `compile_read`; raise RuleError listing every
    problem of the read and the compile."""
    compiled, problems = compile_rule_files_collecting(paths, compile_read)
    if problems:
        raise RuleError(problems.in_order())
    return compiled


def compile_rule_files_collecting(paths: Sequence[Path],
                                  compile_read: Callable[[RuleFiles], _Compiled]) -> tuple[_Compiled, Problems]:
    """What compile_rule_files compiles, from the parts without problems, and every problem, raising nothing:
    `tocsin check` goes on to run the examples of the rules that did compile."""
    read = read_rule_files(paths)
    return compile_read(read), read.problems


def _parse(path: Path, problems: Problems) -> RuleFile | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add_at(shown(path), None, "", f"cannot read: {exc}")
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        where = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        problems.add_at(shown(path), int(where.group(1)) if where else None, "", f"TOML syntax error: {message}")
        return None
    return RuleFile(path, text, data)
