"""A stand-in for systemd's notification socket: a real AF_UNIX datagram socket that records what it receives."""

from __future__ import annotations

import socket
import time
from pathlib import Path


class FakeNotifySocket:
    """Bind to a filesystem path, or to the abstract namespace when `abstract_name` is given (NOTIFY_SOCKET=@...)."""

    def __init__(self, path: Path | None = None, abstract_name: str | None = None) -> None:
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract_name is not None:
            self.socket.bind("\0" + abstract_name)
            self.address = "@" + abstract_name
        else:
            assert path is not None
            self.socket.bind(str(path))
            self.address = str(path)
        self.messages: list[dict[str, str]] = []
        """Every message received so far, in order, as KEY=VALUE fields."""

    def next_message(self, timeout_s: float) -> dict[str, str] | None:
        self.socket.settimeout(max(timeout_s, 0.001))
        try:
            datagram = self.socket.recv(65536)
        except TimeoutError:
            return None
        fields = dict(line.split("=", 1) for line in datagram.decode().splitlines() if "=" in line)
        self.messages.append(fields)
        return fields

    def wait_for(self, key: str, value: str = "1", timeout_s: float = 10.0) -> dict[str, str]:
        """The first new message carrying KEY=VALUE; fails the test after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while (remaining := deadline - time.monotonic()) > 0:
            fields = self.next_message(remaining)
            if fields is not None and fields.get(key) == value:
                return fields
        raise AssertionError(f"no {key}={value} within {timeout_s}s; received {self.messages}")

    def close(self) -> None:
        self.socket.close()
