"""One exception tree. Every message is meant for a person: it says where the problem is and how to fix it."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

_RULE_SUBJECT = re.compile(r'^(?:escalation )?rule "(?P<id>.*)"$')


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem of a configuration or rule file, placed as precisely as it is known. Printed
    `file: key: message` (configuration) or `file:line: subject: message` (rules)."""

    message: str
    file: str | None = None
    line: int | None = None
    key: str | None = None
    """The configuration key, e.g. `delivery.routes[0].receivers`."""
    subject: str | None = None
    """What in a rule file: `rule "id"`, `escalation rule "id"`, `unit "name"`."""
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        # A configuration key says where on its own; its line is for editors (`check --json`).
        place = f"{self.file}:{self.line}" if self.file and self.line and not self.key else self.file
        return ": ".join(part for part in (place, self.key, self.subject, self.message) if part)

    @property
    def rule(self) -> str | None:
        """The id of the rule (matching or escalation) the problem is about, when it is about one."""
        named = _RULE_SUBJECT.match(self.subject or "")
        return named["id"] if named else None

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "key": self.key, "rule": self.rule, "subject": self.subject,
                "message": self.message, "severity": self.severity}


def problems_of(problems: Sequence[str | Problem]) -> list[Problem]:
    """Problems as given; a plain line becomes a Problem with no place of its own (the line names it)."""
    return [problem if isinstance(problem, Problem) else Problem(problem) for problem in problems]


class TocsinError(Exception):
    """Base of every error tocsin raises on purpose."""


class ProblemsError(TocsinError):
    """Input a person wrote is invalid; `problems` lists every problem, one line each, `found` the same placed."""

    def __init__(self, problems: Sequence[str | Problem]) -> None:
        self.found = problems_of(problems)
        self.problems = [str(problem) for problem in self.found]
        super().__init__("\n".join(self.problems))


class ConfigError(ProblemsError):
    """The configuration is invalid."""


class RuleError(ProblemsError):
    """The rule files are invalid."""


class FetchError(TocsinError):
    """A feed could not be fetched (network, HTTP status, size cap)."""

    def __init__(self, message: str, *, status: int | None = None, retry_after_s: float | None = None) -> None:
        self.status = status
        self.retry_after_s = retry_after_s
        super().__init__(message)


class ParseError(TocsinError):
    """A fetched body is not a usable feed (not XML, an HTML page, an entity declaration, ...)."""


class StoreError(TocsinError):
    """The state database cannot be opened or migrated."""


class StoreUnreachable(StoreError):
    """A running daemon's PostgreSQL connection was lost and cannot be opened again yet (the server restarts): a
    passing failure of the database like the driver's own errors, retried at the next use."""


class StorageFailure(StoreError):
    """The store could not write: its filesystem is full (`kind` "full") or its disk failed ("io"). The message
    names the store and what would let it write again; the daemon carries on and writes once it can."""

    def __init__(self, message: str, *, kind: str) -> None:
        self.kind = kind
        super().__init__(message)
