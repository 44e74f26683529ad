"""A real `tocsin run` in a child process, with its stderr collected line by line for the test to wait on."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from tests.conftest import REPO


class DaemonProcess:
    def __init__(self, config: Path, *, env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tocsin", "run", "--config", str(config), *args],
            cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**_clean(os.environ), "PYTHONUNBUFFERED": "1", **(env or {})},
        )
        self.lines: list[str] = []
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._lock:
                self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        with self._lock:
            return "\n".join(self.lines)

    def wait_for_line(self, pattern: str, timeout_s: float = 15.0, after: int = 0) -> re.Match[str]:
        """The first output line (from line number `after` on) matching the regex `pattern`."""
        compiled = re.compile(pattern)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                lines = self.lines[after:]
            for line in lines:
                found = compiled.search(line)
                if found:
                    return found
            if self.process.poll() is not None and not self._reader.is_alive():
                break
            time.sleep(0.02)
        raise AssertionError(f"no line matching {pattern!r} within {timeout_s}s; output:\n{self.output}")

    def health_url(self) -> str:
        found = self.wait_for_line(r"health and metrics on (http://\S+)/healthz")
        return found.group(1)

    def send(self, signum: signal.Signals) -> None:
        self.process.send_signal(signum)

    def stop(self, timeout_s: float = 30.0) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.wait(timeout_s)

    def wait(self, timeout_s: float = 30.0) -> int:
        """Wait for the exit (all output read); returns the exit code."""
        try:
            code = self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"tocsin did not exit within {timeout_s}s; output:\n{self.output}") from None
        self._reader.join(5)
        return code

    def __enter__(self) -> DaemonProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def _clean(environ: os._Environ[str]) -> dict[str, str]:
    """The test's environment without systemd's variables (a test run under systemd must not talk to it)."""
    dropped = ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM", "LISTEN_FDS", "LISTEN_PID")
    return {key: value for key, value in environ.items() if key not in dropped and not key.startswith("TOCSIN_")}
