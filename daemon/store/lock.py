"""One pipeline per state directory: `tocsin run` (daemon or --once) holds an exclusive lock on a file beside the
database for as long as it runs.

Two runners on one state file would both poll, and both delivery workers would send the same pending alerts.
Commands that only read or make small edits (feeds, alerts, silence) take no lock; SQLite serialises their writes.
The lock is flock(2): the kernel drops it when the process dies, so a crash never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from tocsin.errors import StoreError

LOCK_NAME = "tocsin.lock"


class StateLock:
    def __init__(self, descriptor: int, path: Path) -> None:
        self._descriptor = descriptor
        self.path = path

    def release(self) -> None:
        if self._descriptor >= 0:
            os.close(self._descriptor)  # closing the only descriptor drops the flock
            self._descriptor = -1


def lock_state_dir(state_dir: Path) -> StateLock:
    """Take the state directory's lock, or raise StoreError naming the process that holds it."""
    path = state_dir / LOCK_NAME
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    except OSError as exc:
        raise StoreError(f"{path}: cannot open the state directory's lock file ({exc})") from exc
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.read(descriptor, 32).decode("ascii", "replace").strip() or "unknown"
        os.close(descriptor)
        raise StoreError(
            f"{state_dir}: another tocsin run (pid {holder}) is using this state directory; stop it first, or give "
            "this one its own state_dir"
        ) from None
    os.ftruncate(descriptor, 0)
    os.write(descriptor, f"{os.getpid()}\n".encode("ascii"))
    return StateLock(descriptor, path)
