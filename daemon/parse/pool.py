"""Where parsing runs: small well-formed bodies on the event loop, the rest in a small process pool.

The fast reader takes about 1.5 ms of CPU for a 50-item body (about 30 ms per MiB), not much more than a round
trip to a worker process (the body pickled out, the items pickled back), so bodies up to INLINE_LIMIT are tried
right on the event loop, one per loop iteration: the loop waits a few milliseconds at most. feedparser (6-10x
slower, hundreds of milliseconds for a large feed) and large bodies go to the pool, which also uses the second
core.

A worker is hostile input's first stop, so each one is bounded: its address space is capped (WORKER_MEMORY_LIMIT,
a MemoryError costs the feed being parsed), and it exits when the daemon does, even on SIGKILL outside systemd,
where nothing else would reap it (its parent is the forkserver, which a live worker keeps alive in turn).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import resource
import select
import signal
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from datetime import datetime

from tocsin.errors import ParseError
from tocsin.parse.source import FeedSource, ParsedFeed
from tocsin.urls import redact_url

log = logging.getLogger(__name__)

INLINE_LIMIT = 128 * 1024
"""Bodies up to this size are tried with the fast reader on the event loop (about 4 ms of CPU at the limit)."""


WORKER_MEMORY_LIMIT = 1024 * 1024 * 1024
"""Address space of one parse worker, in bytes: a few times what the largest accepted body needs."""


def _prepare_worker(daemon_pid: int, memory_limit: int) -> None:
    # Ctrl-C reaches the whole process group; the service decides when workers stop, not the terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    except (OSError, ValueError) as exc:
        # The systemd unit forbids setrlimit (its MemoryMax= bounds the whole service instead).
        log.debug("parse worker memory not capped: %s", exc)
    threading.Thread(target=_exit_with, args=(daemon_pid,), name="tocsin-daemon-watch", daemon=True).start()


def _exit_with(daemon_pid: int) -> None:
    """Exit this worker as soon as the daemon process is gone."""
    try:
        watched = os.pidfd_open(daemon_pid)
    except ProcessLookupError:
        os._exit(1)
    select.select([watched], [], [])  # a pidfd turns readable when its process exits
    os._exit(1)


class Parser:
    """Parses feed bodies without stalling the event loop: small well-formed ones inline with the fast reader,
    the rest in a small process pool so that feedparser uses the second core.

    The pool starts at the first body that needs it (a cycle of well-formed feeds, or of 304s, never pays for it).
    Falls back to one thread when processes cannot be started (some sandboxes); a pool whose worker died is
    rebuilt and the feed being parsed reports an error.
    """

    def __init__(
        self,
        workers: int = 2,
        *,
        use_processes: bool = True,
        inline_limit: int = INLINE_LIMIT,
        worker_memory_limit: int = WORKER_MEMORY_LIMIT,
    ) -> None:
        self._workers = workers
        self._worker_memory_limit = worker_memory_limit
        self._use_processes = use_processes
        self._inline_limit = inline_limit
        self._executor: Executor | None = None
        self._starting = asyncio.Lock()
        self._inline_turn = asyncio.Lock()

    @property
    def uses_processes(self) -> bool:
        return isinstance(self._executor, ProcessPoolExecutor)

    def _start_executor(self, *, probe: bool = True) -> Executor:
        if self._use_processes:
            try:
                pool = ProcessPoolExecutor(
                    max_workers=self._workers,
                    mp_context=multiprocessing.get_context("forkserver"),
                    initializer=_prepare_worker,
                    initargs=(os.getpid(), self._worker_memory_limit),
                )
                if probe:
                    # Fail now, not at the first feed, when processes cannot be started here.
                    pool.submit(time.monotonic).result(timeout=30)
                return pool
            except (OSError, RuntimeError, ImportError, TimeoutError) as exc:
                log.warning("parsing in a thread: cannot start worker processes (%s)", exc)
                self._use_processes = False
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="tocsin-parse")

    async def _ready_executor(self) -> Executor:
        async with self._starting:
            if self._executor is None:
                # Starting processes takes a few hundred milliseconds: not on the event loop.
                self._executor = await asyncio.to_thread(self._start_executor)
            return self._executor

    async def parse(self, body: bytes, source: FeedSource, fetched_at: datetime) -> ParsedFeed:
        # The readers (and feedparser under them) are imported with the first body: a cycle of 304s reads none.
        from tocsin.parse.document import parse_fast, parse_feed, parse_loose

        if len(body) <= self._inline_limit:
            async with self._inline_turn:
                parsed = parse_fast(body, source, fetched_at)
                # One inline parse per event-loop iteration: when many bodies arrive together, timers and I/O
                # still run between them instead of after all of them.
                await asyncio.sleep(0)
            if parsed is not None:
                return parsed
            work = parse_loose  # the fast reader has had its go
        else:
            work = parse_feed
        executor = self._executor or await self._ready_executor()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, work, body, source, fetched_at)
        except MemoryError:
            raise ParseError(
                f'feed "{source.name}" ({redact_url(source.url)}): refused: parsing it needs more than the '
                f"parse worker's {self._worker_memory_limit // 2**20} MiB"
            ) from None
        except BrokenProcessPool:
            if self._executor is executor:
                executor.shutdown(wait=False, cancel_futures=True)
                # No probe: this runs on the event loop, and processes did start here before.
                self._executor = self._start_executor(probe=False)
            raise ParseError(
                f'feed "{source.name}" ({redact_url(source.url)}): the parser process died (out of memory?)'
            ) from None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
