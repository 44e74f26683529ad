"""The command line's output sink: stdout and stderr pass through `tocsin.redaction` line by line while a command
runs, so no command can print a secret, whatever it reads (a state database written before redaction, a
receiver's answer, an exception text)."""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from collections.abc import Iterator
from typing import TextIO, cast

from tocsin.redaction import redact


class RedactingStream(io.TextIOBase):
    """Writes whole lines, redacted, to the stream it wraps; a partial line waits for its end or a flush (a
    secret never holds a line break, so a line is the unit that can be masked whole)."""

    def __init__(self, target: TextIO) -> None:
        super().__init__()
        self.target = target
        self._pending = ""
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            lines = (self._pending + text).split("\n")
            self._pending = lines.pop()
            if lines:
                self.target.write("".join(redact(line) + "\n" for line in lines))
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self.target.write(redact(self._pending))
                self._pending = ""
        self.target.flush()

    def close(self) -> None:
        # Also called when the wrapper is collected: the stream it wraps is not its own to close.
        with contextlib.suppress(OSError, ValueError):
            self.flush()
        super().close()

    def isatty(self) -> bool:
        return self.target.isatty()

    def fileno(self) -> int:
        return self.target.fileno()


@contextlib.contextmanager
def redacted_output() -> Iterator[None]:
    """stdout and stderr redacted for the block; the streams it found are back afterwards."""
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout = cast(TextIO, RedactingStream(stdout))
    sys.stderr = cast(TextIO, RedactingStream(stderr))
    try:
        yield
    finally:
        for wrapped in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                wrapped.flush()
        sys.stdout, sys.stderr = stdout, stderr
