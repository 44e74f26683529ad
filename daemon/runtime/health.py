"""The health listener: `/healthz` for supervisors and load balancers, `/metrics` for Prometheus.

A deliberately small HTTP/1.1 server on asyncio streams (GET and HEAD, one request per connection): it runs on the
daemon's own event loop, so an answer at all proves the loop turns, and the lag probe tells whether it turned late.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from tocsin import metrics
from tocsin.alerts import iso
from tocsin.config.model import parse_listen

log = logging.getLogger(__name__)

_REQUEST_HEAD_LIMIT = 8192
_REQUEST_TIMEOUT_S = 5.0
_FAILING_FEEDS_LISTED = 20


@dataclass(frozen=True, slots=True)
class HealthReport:
    """What the service says about itself when asked; the listener adds the loop's responsiveness."""

    scheduler_running: bool
    feeds_enabled: int = 0
    failing_feeds: tuple[str, ...] = ()
    gone_feeds: tuple[str, ...] = ()
    outbox_pending: int = 0
    outbox_dead: int = 0
    rules_loaded: int = 0
    last_poll_at: datetime | None = None
    """When the most recent poll of any feed finished."""
    reload_error: str | None = None
    """Why the last reload failed (the service still runs, with its previous configuration: not unhealthy)."""
    storage_error: str | None = None
    """Why the state store cannot write, while it cannot (a full filesystem): polls and deliveries wait for it."""
    instance: dict[str, Any] | None = None
    """On a shared store: this instance's name, the instances alive, its leases, the leader (store/sharing.py)."""


class LoopLagProbe:
    """Schedules a timer every `interval_s` and records how late it fired (metrics.loop_lag).

    A loop that was blocked recently shows as a stale last beat or a large last lag, so /healthz says 503 even
    though the loop has just recovered enough to answer.
    """

    def __init__(self, interval_s: float = 0.5, max_lag_s: float = 2.0) -> None:
        self.interval_s = interval_s
        self.max_lag_s = max_lag_s
        self.last_lag_s = 0.0
        self._last_beat: float | None = None

    async def run(self) -> None:
        while True:
            scheduled = time.monotonic()
            await asyncio.sleep(self.interval_s)
            now = time.monotonic()
            self.last_lag_s = max(0.0, now - scheduled - self.interval_s)
            self._last_beat = now
            metrics.loop_lag.observe(self.last_lag_s)

    def responsive(self) -> bool:
        if self._last_beat is None:
            return True  # just started: no evidence of a stall yet
        since_beat = time.monotonic() - self._last_beat
        return since_beat <= self.interval_s + self.max_lag_s and self.last_lag_s <= self.max_lag_s


def health_summary(report: HealthReport, probe: LoopLagProbe) -> tuple[bool, dict[str, Any]]:
    """(healthy, the JSON body of /healthz)."""
    problems = []
    if not report.scheduler_running:
        problems.append("the scheduler is not running")
    if not probe.responsive():
        problems.append(f"the event loop is lagging ({probe.last_lag_s:.3f}s late)")
    body: dict[str, Any] = {
        # Degraded: serving (200), but something a monitor should flag: the rules and configuration in force are
        # not the files on disk (the next restart picks up the broken files and exits 78), or the store cannot
        # write, so new items wait (refetched once it can; the daemon resumes by itself).
        "status": "unhealthy" if problems else "degraded" if report.reload_error or report.storage_error else "ok",
        "problems": problems,
        "scheduler_running": report.scheduler_running,
        "event_loop_lag_seconds": round(probe.last_lag_s, 6),
        "last_poll_at": iso(report.last_poll_at) if report.last_poll_at else None,
        "rules_loaded": report.rules_loaded,
        "reload_error": report.reload_error,
        "storage_error": report.storage_error,
        "feeds": {
            "enabled": report.feeds_enabled,
            "failing": len(report.failing_feeds),
            "failing_names": sorted(report.failing_feeds)[:_FAILING_FEEDS_LISTED],
            "gone": len(report.gone_feeds),
            "gone_names": sorted(report.gone_feeds)[:_FAILING_FEEDS_LISTED],
        },
        "outbox": {"pending": report.outbox_pending, "dead": report.outbox_dead},
    }
    if report.instance is not None:
        body["instance"] = report.instance
    return not problems, body


def refresh_gauges(report: HealthReport) -> None:
    """Gauges that describe state rather than events are set from the report at scrape time, so they are fresh."""
    metrics.outbox_depth.set(report.outbox_pending)
    metrics.dead_letters.set(report.outbox_dead)
    metrics.feeds_failing.set(len(report.failing_feeds))
    metrics.rules_loaded.set(report.rules_loaded)
    if report.instance is not None:
        metrics.instances_alive.set(report.instance["instances_alive"])
        metrics.leases_held.labels("feed").set(report.instance["feed_leases"])
        metrics.leases_held.labels("delivery").set(report.instance["delivery_leases"])
        metrics.leader.set(int(report.instance["leading"]))


class HealthServer:
    """Serves /healthz and /metrics on `listen` until stopped; `report` is called once per request."""

    def __init__(self, listen: str, report: Callable[[], HealthReport], probe: LoopLagProbe | None = None) -> None:
        self.host, self.port = parse_listen(listen)
        self.report = report
        self.probe = probe or LoopLagProbe()
        self._server: asyncio.Server | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self._connections: set[asyncio.Task[None]] = set()

    @property
    def address(self) -> tuple[str, int]:
        """The bound address (the real port when 0 was configured)."""
        if self._server is None or not self._server.sockets:
            return self.host, self.port
        sockname = self._server.sockets[0].getsockname()
        return str(sockname[0]), int(sockname[1])

    async def start(self) -> None:
        """Bind and serve; raises OSError when the address cannot be bound (the caller decides what that means)."""
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, limit=_REQUEST_HEAD_LIMIT, reuse_address=True
        )
        self._probe_task = asyncio.create_task(self.probe.run(), name="loop-lag-probe")
        host, port = self.address
        log.info("health and metrics on http://%s/healthz and /metrics", f"[{host}]:{port}" if ":" in host
                 else f"{host}:{port}")

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        tasks = [task for task in (self._probe_task, *self._connections) if task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            async with asyncio.timeout(_REQUEST_TIMEOUT_S):
                await self._serve(reader, writer)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass  # a client that dawdles or hangs up gets nothing more
        except Exception:
            log.exception("health listener: request failed")
        finally:
            self._connections.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.LimitOverrunError:
            await _respond(writer, 431, "text/plain", b"request header too large\n")
            return
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            await _respond(writer, 400, "text/plain", b"bad request\n")
            return
        method, target = parts[0], parts[1]
        path = target.split("?", 1)[0]
        if path not in ("/healthz", "/metrics"):
            await _respond(writer, 404, "text/plain", b"not found: try /healthz or /metrics\n")
            return
        if method not in ("GET", "HEAD"):
            await _respond(writer, 405, "text/plain", b"method not allowed\n", extra={"Allow": "GET, HEAD"})
            return
        report = self.report()
        if path == "/healthz":
            healthy, summary = health_summary(report, self.probe)
            body = json.dumps(summary, indent=2).encode() + b"\n"
            await _respond(writer, 200 if healthy else 503, "application/json", body, head_only=method == "HEAD")
        else:
            refresh_gauges(report)
            await _respond(writer, 200, CONTENT_TYPE_LATEST, generate_latest(metrics.REGISTRY),
                           head_only=method == "HEAD")


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            431: "Request Header Fields Too Large", 503: "Service Unavailable"}


async def _respond(
    writer: asyncio.StreamWriter, status: int, content_type: str, body: bytes, *,
    head_only: bool = False, extra: dict[str, str] | None = None,
) -> None:
    headers = {"Content-Type": content_type, "Content-Length": str(len(body)), "Connection": "close",
               "Cache-Control": "no-store", **(extra or {})}
    lines = [f"HTTP/1.1 {status} {_REASONS[status]}", *(f"{name}: {value}" for name, value in headers.items())]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    if not head_only:
        writer.write(body)
    await writer.drain()
