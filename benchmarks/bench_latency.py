"""Alert latency inside the daemon: from a feed body leaving the farm to the webhook receiver's 2xx.

A long-running `tocsin run` (the default rule pack, a signed webhook receiver that gets every alert with no
group wait) polls eight farm feeds about once a second each, staggered; each poll brings one new crisis item that
the default rules match, each a separate event (see feedfarm.article), and the re-alert interval is 0 so that
throttling, a policy and not a delay, does not swallow samples. The farm records when it answered with each new
item and the receiver when the alert about it arrived (both processes on this machine, one clock), so the
difference is the time the daemon took: fetch, parse in the worker pool, dedupe, match, escalate, route, outbox
commit, delivery worker, signed POST.
The samples are split into three consecutive runs; p50 and p99 are the medians over those runs.
"""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from pathlib import Path

from benchmarks import Result, median_result, percentile, result, standalone
from benchmarks.bench_poll import longest_stall_ms
from benchmarks.daemonconfig import write_config
from benchmarks.feedfarm import FeedFarmProcess
from benchmarks.measure import REPO, TOCSIN_PROBED, ChildRun
from benchmarks.webhookreceiver import WebhookReceiverProcess

NAME = "latency"
RUNS = 3


def _stop(daemon: subprocess.Popen[bytes], grace_s: float = 30.0) -> None:
    daemon.send_signal(signal.SIGTERM)
    try:
        daemon.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()


def collect(work: Path, feeds: int, samples_wanted: int, max_seconds: float) -> tuple[list[float], int, str]:
    """(latencies in ms in order of sending, items sent, the daemon's stderr)."""
    with FeedFarmProcess(feeds, mode="latency", max_seconds=max_seconds + 60) as farm, \
            WebhookReceiverProcess(max_seconds=max_seconds + 60) as receiver:
        # Intervals just over a second, a little different per feed, so that polls drift apart as in real life.
        config = write_config(work, [farm.feed_url(index) for index in range(feeds)], interval="1s",
                              webhook_url=receiver.url("/hook"), realert_interval="0s",
                              feed_intervals=[f"{1000 + 97 * index}ms" for index in range(feeds)])
        with open(work / "daemon.log", "wb") as log:
            daemon = subprocess.Popen([*TOCSIN_PROBED, "run", "--config", str(config)], cwd=REPO,
                                      stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + max_seconds
            try:
                while time.monotonic() < deadline and daemon.poll() is None:
                    time.sleep(0.5)
                    if len(receiver.received()[1]) >= samples_wanted:
                        break
            finally:
                _stop(daemon)
        output = (work / "daemon.log").read_text(errors="replace")
        if daemon.returncode not in (0, -signal.SIGTERM):
            raise RuntimeError(f"tocsin run exited with status {daemon.returncode}:\n{output[-2000:]}")
        sent = farm.sent_at()
        _posts, received = receiver.received()
    latencies = [(received[key] - sent[key]) * 1000 for key in sorted(received, key=lambda k: sent.get(k, 0))
                 if key in sent]
    return latencies, len(sent), output


def run(quick: bool) -> list[Result]:
    # Eight feeds polled about once a second make about as many polls per second as 5,000 feeds every 10 minutes.
    feeds, wanted, max_seconds = (2, 12, 40.0) if quick else (8, 240, 100.0)
    with tempfile.TemporaryDirectory(prefix="tocsin-bench-latency-") as scratch:
        latencies, sent, output = collect(Path(scratch), feeds, wanted, max_seconds)
    if len(latencies) < RUNS:
        raise RuntimeError(f"only {len(latencies)} alerts arrived for {sent} crisis items sent:\n{output[-2000:]}")
    chunk = len(latencies) // RUNS
    runs = [latencies[index * chunk:(index + 1) * chunk] for index in range(RUNS)]
    stall = longest_stall_ms(ChildRun(0.0, 0.0, 0.0, 0, output, ""))
    return [
        median_result(NAME, "feed body -> webhook 2xx, p50", [percentile(run, 0.50) for run in runs], "ms", "< 20"),
        median_result(NAME, "feed body -> webhook 2xx, p99", [percentile(run, 0.99) for run in runs], "ms", "< 100"),
        result(NAME, "feed body -> webhook 2xx, max", max(latencies), "ms"),
        result(NAME, "alerts received / crisis items sent", len(latencies) / max(sent, 1) * 100, "%"),
        result(NAME, "longest loop stall (whole run)", stall, "ms"),
    ]


if __name__ == "__main__":
    standalone(run)
