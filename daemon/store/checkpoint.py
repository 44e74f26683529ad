"""WAL checkpoints on a thread of their own, so that no commit on the event loop pays for one.

SQLite normally checkpoints inside whichever commit grows the WAL past 1,000 pages: that commit then copies
every page to the database file and fsyncs it, holding the event loop for tens of milliseconds (and the
escalation stage's random index pages make those checkpoints large). Here the main connection never checkpoints;
a second connection, on its own thread, runs a PASSIVE checkpoint every half second. sqlite3 releases
the GIL while SQLite works, so the copy runs beside the event loop, on the other core. PASSIVE never blocks the
writer: frames a reader still needs are left for the next round.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

SQLITE_DEFAULT_AUTOCHECKPOINT = 1000
"""Pages; what the main connection goes back to when the thread stops."""


class BackgroundCheckpointer:
    def __init__(self, main: sqlite3.Connection, path: Path, interval_s: float = 0.5) -> None:
        self._main = main
        self._path = path
        self._interval_s = interval_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tocsin-checkpoint", daemon=True)

    def start(self) -> None:
        self._main.execute("PRAGMA wal_autocheckpoint=0")
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and give checkpointing back to the main connection (which checkpoints at close)."""
        self._stop.set()
        self._thread.join(timeout=30)
        self._main.execute(f"PRAGMA wal_autocheckpoint={SQLITE_DEFAULT_AUTOCHECKPOINT}")

    def _run(self) -> None:
        connection = sqlite3.connect(str(self._path), isolation_level=None, timeout=10.0)
        try:
            while not self._stop.wait(self._interval_s):
                self._checkpoint(connection)
        finally:
            connection.close()

    @staticmethod
    def _checkpoint(connection: sqlite3.Connection) -> None:
        try:
            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            # The next round tries again; meanwhile the WAL only grows.
            log.warning("background WAL checkpoint failed: %s", exc)
