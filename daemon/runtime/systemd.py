"""Talking to systemd without libsystemd: sd_notify datagrams and the watchdog ping.

The protocol is one datagram of newline-separated KEY=VALUE lines to the AF_UNIX socket named in $NOTIFY_SOCKET
(a leading `@` means the Linux abstract namespace). Outside systemd the variable is unset and every call is a no-op,
so `tocsin run` behaves the same in a terminal.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


def monotonic_usec() -> int:
    """CLOCK_MONOTONIC in microseconds: what systemd expects in MONOTONIC_USEC= next to RELOADING=1."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def _socket_address(name: str) -> str | None:
    if name.startswith("@"):
        return "\0" + name[1:]
    if name.startswith("/"):
        return name
    # systemd also allows vsock:... addresses for VMs; tocsin never runs as a VM's PID 1.
    return None


class Notifier:
    """Sends sd_notify messages; failures are logged once and never stop the daemon."""

    def __init__(self, socket_name: str | None) -> None:
        self.address = _socket_address(socket_name) if socket_name else None
        self._socket: socket.socket | None = None
        self._warned = False
        if socket_name and self.address is None:
            log.warning("NOTIFY_SOCKET=%s is not a path or abstract socket; not notifying systemd", socket_name)

    @classmethod
    def from_environment(cls) -> Notifier:
        return cls(os.environ.get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *lines: str) -> bool:
        """Send one message made of KEY=VALUE lines; True when systemd got it."""
        if self.address is None:
            return False
        try:
            if self._socket is None:
                self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                self._socket.setblocking(False)
            self._socket.sendto("\n".join(lines).encode("utf-8"), self.address)
        except OSError as exc:
            if not self._warned:
                log.warning("cannot notify systemd at %s: %s", self.address.replace("\0", "@"), exc)
                self._warned = True
            return False
        return True

    def ready(self, status: str | None = None) -> bool:
        return self.send("READY=1", *_status_line(status))

    def status(self, text: str) -> bool:
        return self.send(*_status_line(text))

    def reloading(self, status: str | None = None) -> bool:
        return self.send("RELOADING=1", f"MONOTONIC_USEC={monotonic_usec()}", *_status_line(status))

    def stopping(self, status: str | None = None) -> bool:
        return self.send("STOPPING=1", *_status_line(status))

    def watchdog(self) -> bool:
        return self.send("WATCHDOG=1")

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def _status_line(text: str | None) -> tuple[str, ...]:
    if text is None:
        return ()
    # One message is newline-separated: a newline inside the status would start a bogus assignment.
    return ("STATUS=" + " ".join(text.split()),)


def watchdog_interval_s(environ: dict[str, str] | None = None) -> float | None:
    """Half of $WATCHDOG_USEC (how often to ping), or None when systemd wants no pings from this process."""
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec:
        return None
    if pid and pid != str(os.getpid()):
        return None
    try:
        timeout_us = int(usec)
    except ValueError:
        log.warning("WATCHDOG_USEC=%r is not a number; not pinging the watchdog", usec)
        return None
    if timeout_us <= 0:
        return None
    return timeout_us / 2 / 1_000_000


async def run_watchdog(notifier: Notifier, interval_s: float, healthy: Callable[[], bool] = lambda: True) -> None:
    """Ping WATCHDOG=1 from the event loop until cancelled.

    Pinging from a task (not a thread) is the point: a blocked loop stops the pings and systemd restarts us.
    `healthy` lets the service withhold pings when its scheduler died although the loop still turns.
    """
    while True:
        if healthy():
            notifier.watchdog()
        else:
            log.error("withholding the watchdog ping: the service reports itself unhealthy")
        await asyncio.sleep(interval_s)
