"""Running a tocsin command with one of its output streams on a real pseudo-terminal (isatty() is true there)."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Ran:
    returncode: int
    terminal: str
    """What the command wrote to the pseudo-terminal."""
    piped: str
    """What it wrote to the other stream, a pipe."""


def on_a_terminal(*args: str, env: Mapping[str, str] | None = None, stdin: str = "",
                  stream: Literal["stdout", "stderr"] = "stdout", timeout: float = 120) -> Ran:
    """`tocsin ARGS` with `stream` on a pseudo-terminal and the other output stream on a pipe. The terminal is
    read while the command runs, so a chatty one cannot fill the terminal's buffer and block."""
    controller, terminal = pty.openpty()
    # A new pseudo-terminal is 0 columns wide, where tqdm draws nothing; a real one has a size.
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal side is closed and everything was read
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        outputs = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, stream: terminal}
        with subprocess.Popen([sys.executable, "-m", "tocsin", *args], stdin=subprocess.PIPE,
                              stdout=outputs["stdout"], stderr=outputs["stderr"], env=env) as process:
            os.close(terminal)
            terminal = -1
            piped = process.communicate(stdin.encode(), timeout=timeout)[0 if stream == "stderr" else 1]
        reader.join(timeout=10)
        return Ran(process.returncode, b"".join(chunks).decode(errors="replace"), piped.decode(errors="replace"))
    finally:
        if terminal != -1:
            os.close(terminal)
        reader.join(timeout=10)
        os.close(controller)
