"""One exception tree. Every message is meant for a person: it says where the problem is and how to fix it."""

from __future__ import annotations


class TocsinError(Exception):
    """Base of every error tocsin raises on purpose."""


class ConfigError(TocsinError):
    """The configuration is invalid; `problems` lists every problem, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class RuleError(TocsinError):
    """The rule files are invalid; `problems` lists every problem, one line each."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


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
