"""Measuring a child process: wall time, CPU seconds and peak resident memory, the way the kernel accounts them.

CPU comes from wait4(2), so it covers the child and every descendant it waited for. A descendant the child did
not wait for (multiprocessing's forkserver, which reaps the parse workers, outlives the daemon by a moment) would
escape that count, so the benchmark process makes itself a child subreaper: such orphans are re-parented to it
and reaped here, and their CPU is added.

Memory is read from /proc every 50 ms while the child runs, not from ru_maxrss: Linux folds the spawning
process's own peak into a child's ru_maxrss at exec, so a benchmark runner that has grown to 150 MB would make
every child look at least that big. The peak reported is the larger of the process tree's summed proportional
memory (Pss: pages a forked worker shares with its parent count once) and the largest single process's
high-water mark (VmHWM, which also keeps a peak that fell between two samples).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TOCSIN = [sys.executable, "-m", "tocsin"]
"""The daemon as `tocsin` runs it, from this checkout's interpreter (the venv when run by `make bench`)."""
TOCSIN_PROBED = [sys.executable, "-m", "benchmarks.stallprobe"]
"""The same, with a fine event-loop stall probe that reports at exit (see stallprobe)."""


@dataclass(frozen=True, slots=True)
class ChildRun:
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str

    def check(self, what: str) -> ChildRun:
        if self.returncode != 0:
            tail = "\n".join(self.stderr.strip().splitlines()[-15:])
            raise RuntimeError(f"{what} exited with status {self.returncode}:\n{tail}")
        return self


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1])
    return 0


def tree_memory_kb(pid: int) -> tuple[int, dict[int, int]]:
    """(summed Pss of a process and all its descendants, each one's VmHWM), in KiB; empty once it has gone."""
    total = 0
    high_water: dict[int, int] = {}
    pending = [pid]
    while pending:
        current = pending.pop()
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{current}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
            high_water[current] = _status_kb(current, "VmHWM:")
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
    return total, high_water


class _MemorySampler(threading.Thread):
    def __init__(self, pid: int, interval_s: float) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval_s = interval_s
        self.peak_tree_kb = 0
        self.high_water_kb: dict[int, int] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            tree_kb, high_water = tree_memory_kb(self.pid)
            self.peak_tree_kb = max(self.peak_tree_kb, tree_kb)
            self.high_water_kb.update(high_water)
            if self.stopped.wait(self.interval_s):
                return

    @property
    def peak_kb(self) -> int:
        return max(self.peak_tree_kb, *self.high_water_kb.values(), 0)


PR_SET_CHILD_SUBREAPER = 36
_ORPHAN_GRACE_S = 10.0


def _become_subreaper() -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def _children() -> set[int]:
    found: set[int] = set()
    for task in Path("/proc/self/task").iterdir():
        with contextlib.suppress(OSError):
            found.update(int(pid) for pid in (task / "children").read_text().split())
    return found


def _reap_orphans(unrelated: set[int]) -> float:
    """Wait for descendants of the finished child that were re-parented to us; their CPU seconds."""
    cpu_s = 0.0
    deadline = time.monotonic() + _ORPHAN_GRACE_S
    while orphans := _children() - unrelated:
        for pid in orphans:
            with contextlib.suppress(ChildProcessError):
                reaped, _status, usage = os.wait4(pid, os.WNOHANG if time.monotonic() < deadline else 0)
                if reaped:
                    cpu_s += usage.ru_utime + usage.ru_stime
                elif time.monotonic() >= deadline:
                    os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    return cpu_s


def run_child(
    argv: Sequence[str], *, timeout_s: float, env: Mapping[str, str] | None = None, cwd: Path | None = None,
    rss_interval_s: float = 0.05,
) -> ChildRun:
    """Run to completion (killed after `timeout_s`) and account for it and all its descendants."""
    _become_subreaper()
    unrelated = _children()
    with open(os.devnull, "rb") as stdin, tempfile.TemporaryFile() as stdout, \
            tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        process = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=stderr, env=dict(env or os.environ),
                                   cwd=cwd or REPO)
        sampler = _MemorySampler(process.pid, rss_interval_s)
        sampler.start()
        deadline = started + timeout_s
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                process.send_signal(signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.01)
        wall_s = time.perf_counter() - started
        sampler.stopped.set()
        sampler.join()
        orphan_cpu_s = _reap_orphans(unrelated)
        process.returncode = os.waitstatus_to_exitcode(status)  # wait4 reaped it; tell Popen
        stdout.seek(0)
        stderr.seek(0)
        outputs = stdout.read().decode(errors="replace"), stderr.read().decode(errors="replace")
    if wall_s > timeout_s:
        raise RuntimeError(f"{' '.join(argv)}: killed after {timeout_s:g}s\n{outputs[1][-2000:]}")
    return ChildRun(
        wall_s=wall_s,
        cpu_s=usage.ru_utime + usage.ru_stime + orphan_cpu_s,
        peak_rss_mb=sampler.peak_kb / 1024,
        returncode=process.returncode,
        stdout=outputs[0],
        stderr=outputs[1],
    )


def machine_load() -> str:
    """`load 1.23 0.80 0.40 on 2 CPUs`: other work on the machine skews every figure, so each run records it."""
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"
