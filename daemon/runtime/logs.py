"""Logging for a service: to stderr, journal priorities when systemd reads it, JSON for shippers, no secrets.

Under systemd, stderr is a stream to journald and $JOURNAL_STREAM names it ("device:inode"); a line starting with
`<N>` is then stored with syslog priority N, so `journalctl -p err` finds tocsin's errors. Lines about a feed or a
rule pass `extra={"feed": name}` / `extra={"rule": rule_id}`; the JSON format carries those as fields.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from tocsin import redaction
from tocsin.config import Settings
from tocsin.config.secrets import secret_values

LogFormat = Literal["text", "json"]

_SYSLOG_PRIORITY = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))
_DEBUG_PRIORITY = 7
_CONTEXT_FIELDS = ("feed", "rule", "receiver", "alert")
def syslog_priority(levelno: int) -> int:
    for threshold, priority in _SYSLOG_PRIORITY:
        if levelno >= threshold:
            return priority
    return _DEBUG_PRIORITY


def stream_is_journal(stream: TextIO, environ: dict[str, str] | None = None) -> bool:
    """True when `stream` is the journald stream systemd announced in $JOURNAL_STREAM.

    Comparing device and inode (as systemd.exec(5) advises) keeps the prefixes out of a file or pipe that a child
    process's stderr was redirected to while the variable was inherited.
    """
    announced = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, _, inode = announced.partition(":")
    if not device.isdigit() or not inode.isdigit():
        return False
    try:
        status = os.fstat(stream.fileno())
    except (OSError, ValueError):
        return False
    return (status.st_dev, status.st_ino) == (int(device), int(inode))


class SecretRedactor(logging.Filter):
    """Masks known secret values and credential-shaped text (`tocsin.redaction`) in the final message and
    traceback of every record.

    Attached to the handler, so records from every logger pass through it, including third-party libraries.
    """

    def add(self, secrets: Iterable[str]) -> None:
        redaction.learn(secrets)

    def redact(self, text: str) -> str:
        return redaction.redact(text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for field in _CONTEXT_FIELDS:
            value = getattr(record, field, None)
            if isinstance(value, str):
                setattr(record, field, self.redact(value))
        return True


class TextFormatter(logging.Formatter):
    """`LEVEL logger: message`, with a `<N>` priority prefix on every line when journald reads it (journald adds
    its own timestamp). Messages name their feed or rule in words, so the context fields are left to JSON."""

    def __init__(self, *, journal: bool) -> None:
        fmt = "%(levelname)s %(name)s: %(message)s" if journal else "%(asctime)s %(levelname)s %(name)s: %(message)s"
        super().__init__(fmt)
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self.journal:
            return text
        # journald splits on newlines and gives each line its own priority: prefix every line of a traceback.
        prefix = f"<{syslog_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in text.split("\n"))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, context fields, exception. Under journald the line
    starts with `<N>` too, which journald turns into the entry's priority and strips, leaving pure JSON."""

    def __init__(self, *, journal: bool) -> None:
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for field in _CONTEXT_FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        line = json.dumps(entry, ensure_ascii=False, default=str)
        return f"<{syslog_priority(record.levelno)}>{line}" if self.journal else line


def setup_logging(
    level: str = "info", log_format: LogFormat = "text", stream: TextIO | None = None
) -> SecretRedactor:
    """Route every logger to one handler on `stream` (stderr); returns the redactor to register secrets with.

    Called again on reload to change level or format; the handler is replaced, never duplicated.
    """
    target = sys.stderr if stream is None else stream
    journal = stream_is_journal(target)
    formatter = JsonFormatter(journal=journal) if log_format == "json" else TextFormatter(journal=journal)
    root = logging.getLogger()
    previous = [old for old in root.handlers if isinstance(old, _TocsinHandler)]
    redactor = next((old.redactor for old in previous), None) or SecretRedactor()
    for old in previous:
        root.removeHandler(old)
        old.close()
    handler = _TocsinHandler(target, formatter, redactor)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # These log every request or job run at INFO: with thousands of feeds that drowns the lines people need.
    for chatty in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, root.level))
    return redactor


class _TocsinHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The one handler tocsin installs; marked by its class so a second setup replaces it (others are left)."""

    def __init__(self, stream: TextIO, formatter: logging.Formatter, redactor: SecretRedactor) -> None:
        super().__init__(stream)
        self.setFormatter(formatter)
        self.redactor = redactor
        self.addFilter(redactor)


def configure_logging(settings: Settings, *, level: str | None = None, log_format: LogFormat | None = None) -> None:
    """Set up (or, on reload, redo) logging from the settings, command-line overrides first, and teach the
    redactor every secret the configuration refers to."""
    setup_logging(level or settings.logging.level, log_format or settings.logging.format).add(
        secret_values(settings)
    )
