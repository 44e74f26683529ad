"""`python -m benchmarks.stallprobe ARGS...` runs `tocsin ARGS...` with a probe on its event loop, and prints the
longest stall to stderr at exit: `longest event-loop stall: 12.3 ms (0 over 50 ms, 2 over 10 ms)`.

The probe is a timer every 5 ms that records how late it fired. A stall of S ms therefore shows as at least
S - 5 ms, and the probe costs the daemon about 200 wake-ups a second (well under 1% of a core). The daemon's own
probe (daemon/runtime/health.py, feeding tocsin_event_loop_lag_seconds) fires every 0.5 s, which suits a health check
but misses most short stalls, so the benchmark brings a finer one. Nothing in the daemon is changed: the probe is
started by an event loop policy whose loops start it, before `tocsin` creates its loop.

To find the cause of a stall, set TOCSIN_BENCH_EXPLAIN_STALLS_MS=50: asyncio's debug mode then logs each callback
that held the loop longer than that, naming its task and coroutine.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import sys
from dataclasses import dataclass, field

from tocsin.cli import main as tocsin_main

INTERVAL_S = 0.005
EXPLAIN_ENV = "TOCSIN_BENCH_EXPLAIN_STALLS_MS"
"""Set to a number of milliseconds to have asyncio log every callback that held the loop longer (slow)."""
REPORT_OVER_MS = (50.0, 10.0)


@dataclass(slots=True)
class Stalls:
    longest_ms: float = 0.0
    count_over: dict[float, int] = field(default_factory=lambda: dict.fromkeys(REPORT_OVER_MS, 0))

    def record(self, late_ms: float) -> None:
        self.longest_ms = max(self.longest_ms, late_ms)
        for bound in REPORT_OVER_MS:
            if late_ms > bound:
                self.count_over[bound] += 1

    def report(self) -> str:
        over = ", ".join(f"{count} over {bound:g} ms" for bound, count in self.count_over.items())
        return f"longest event-loop stall: {self.longest_ms:.1f} ms ({over})"


STALLS = Stalls()


async def _probe(loop: asyncio.AbstractEventLoop) -> None:
    while True:
        before = loop.time()
        await asyncio.sleep(INTERVAL_S)
        STALLS.record(max(0.0, loop.time() - before - INTERVAL_S) * 1000)


class ProbedLoopPolicy(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop = super().new_event_loop()
        loop.call_soon(loop.create_task, _probe(loop))
        if os.environ.get(EXPLAIN_ENV):
            # asyncio's debug mode names every callback that ran longer than this (at a cost: diagnosis only).
            loop.set_debug(True)
            loop.slow_callback_duration = float(os.environ[EXPLAIN_ENV]) / 1000
        return loop


def main() -> int:
    asyncio.set_event_loop_policy(ProbedLoopPolicy())
    atexit.register(lambda: print(STALLS.report(), file=sys.stderr, flush=True))
    return tocsin_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
