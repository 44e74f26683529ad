"""The one interface every receiver kind implements, and the outcome the outbox understands."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from tocsin.alerts import Alert
from tocsin.urls import CONTROL_CHARACTERS as _CONTROL


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one send: delivered, worth retrying (perhaps after a time the receiver asked for), or
    refused for good (dead letter)."""

    status: Literal["delivered", "retry", "permanent"]
    reason: str = ""
    retry_after: timedelta | None = None
    send_again_at: datetime | None = None
    """Delivered, and to be sent once more then (Alertmanager wants firing alerts posted again before endsAt)."""

    @classmethod
    def delivered(cls, send_again_at: datetime | None = None) -> Outcome:
        return cls("delivered", send_again_at=send_again_at)

    @classmethod
    def retry(cls, reason: str, retry_after: timedelta | None = None) -> Outcome:
        return cls("retry", reason, retry_after)

    @classmethod
    def permanent(cls, reason: str) -> Outcome:
        return cls("permanent", reason)


class Sender(Protocol):
    name: str

    async def send(self, alerts: Sequence[Alert]) -> Outcome:
        """Deliver the alerts as one message (or as the kind prefers); never raises for a delivery problem."""
        ...


def one_line(text: str, limit: int = 300) -> str:
    """Feed text made safe for a single line (a subject, a terminal, a chat title): control characters,
    line breaks and bidi overrides become spaces, whitespace collapses, long text is cut with an ellipsis."""
    return truncate(" ".join(_CONTROL.sub(" ", text).split()), limit)


def plain_block(text: str, limit: int = 2000) -> str:
    """Multi-line feed text with control characters removed but line breaks kept."""
    lines = (one_line(line, limit) for line in text.splitlines())
    return truncate("\n".join(line for line in lines if line), limit)


def truncate(text: str, limit: int) -> str:
    """The text, or its start with an ellipsis so that it is at most `limit` UTF-16 code units long (the unit
    JavaScript-based services count in; for most text the same as characters)."""
    if utf16_length(text) <= limit:
        return text
    cut = text[: limit - 1]
    while utf16_length(cut) > limit - 1:
        cut = cut[:-1]
    return cut.rstrip().rstrip("\\") + "…"


def headline(alerts: Sequence[Alert]) -> str:
    """`HIGH: Shootdown — helicopter, Idlib`: the most severe alert, with `(+2 more)` for a group."""
    top = max(alerts, key=lambda alert: alert.severity.rank)  # the first of the most severe
    more = f" (+{len(alerts) - 1} more)" if len(alerts) > 1 else ""
    return f"{top.severity.value.upper()}: {one_line(top.title, 200)}{more}"


def utf16_length(text: str) -> int:
    """Length as JavaScript counts it (Discord, Slack and Teams limits are in UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2
