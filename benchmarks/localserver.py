"""Both sides of a benchmark's local HTTP server: the server loop that runs in its own process, and the handle the
benchmark keeps to start it, ask it for its counts and stop it.

The server is a minimal HTTP/1.1 implementation on asyncio streams (keep-alive, Content-Length bodies), because
the standard library's http.server costs the shared 2 cores far more per request than the client being measured.
It listens on 127.0.0.1, ephemeral ports, and stops by itself: after `max_seconds`, after `max_requests`, when its
stdin closes (the benchmark went away) or on SIGTERM.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

MAX_HEADER_BYTES = 64 * 1024
MAX_BODY_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    port: int


@dataclass(slots=True)
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[[Request], Awaitable[Response]]

_REASONS = {200: "OK", 204: "No Content", 304: "Not Modified", 400: "Bad Request", 404: "Not Found"}


@dataclass(slots=True)
class Limits:
    max_seconds: float
    max_requests: int
    served: int = 0


async def _serve_connection(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler, limits: Limits, done: asyncio.Event
) -> None:
    port = writer.get_extra_info("sockname")[1]
    try:
        while not done.is_set():
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            request_line, *header_lines = head.decode("latin-1").split("\r\n")
            method, path, _version = request_line.split(" ", 2)
            headers = {}
            for line in header_lines:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            length = min(int(headers.get("content-length", "0") or 0), MAX_BODY_BYTES)
            body = await reader.readexactly(length) if length else b""
            response = await handler(Request(method, path, headers, body, port))
            reason = _REASONS.get(response.status, "Status")
            lines = [f"HTTP/1.1 {response.status} {reason}", f"Content-Length: {len(response.body)}"]
            lines += [f"{name}: {value}" for name, value in response.headers.items()]
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body)
            await writer.drain()
            limits.served += 1
            if limits.served >= limits.max_requests:
                done.set()
            if headers.get("connection", "").lower() == "close":
                return
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def _watch_stdin(loop: asyncio.AbstractEventLoop, done: asyncio.Event) -> None:
    """The benchmark holds our stdin open; EOF means it is gone (or finished), so we stop too."""
    stdin = sys.stdin.fileno()

    def on_readable() -> None:
        if not os.read(stdin, 4096):
            loop.remove_reader(stdin)
            done.set()

    loop.add_reader(stdin, on_readable)


async def serve(
    handler: Handler, port_count: int, limits: Limits, ready_info: dict[str, Any] | None = None
) -> None:
    """Listen on `port_count` ephemeral ports of 127.0.0.1, print one JSON line {"ports": [...], ...} when ready,
    and serve until a limit is reached."""
    done = asyncio.Event()
    servers = []
    connections: dict[asyncio.StreamWriter, asyncio.Task[None]] = {}

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        connections[writer] = task
        try:
            await _serve_connection(reader, writer, handler, limits, done)
        finally:
            del connections[writer]

    for _ in range(port_count):
        servers.append(await asyncio.start_server(on_connection, "127.0.0.1", 0, backlog=1024,
                                                  limit=MAX_HEADER_BYTES))
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, done.set)
    ports = [server.sockets[0].getsockname()[1] for server in servers]
    print(json.dumps({"ports": ports, **(ready_info or {})}), flush=True)
    _watch_stdin(loop, done)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done.wait(), timeout=limits.max_seconds)
    for server in servers:
        server.close()
    # Hanging up on idle keep-alive clients lets every connection task end by itself, without cancellation.
    tasks = list(connections.values())
    for writer in list(connections):
        writer.transport.abort()
    await asyncio.gather(*tasks, return_exceptions=True)


class ServerProcess:
    """A local server module (`python -m benchmarks.<module> ...`) running in its own process."""

    def __init__(self, module: str, args: Sequence[str], startup_timeout_s: float = 30.0) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        readable, _, _ = select.select([self.process.stdout], [], [], startup_timeout_s)
        line = self.process.stdout.readline() if readable else ""
        if not line:
            self.close()
            raise RuntimeError(f"{module} did not start (exit status {self.process.returncode})")
        self.info: dict[str, Any] = json.loads(line)
        self.ports: list[int] = self.info["ports"]

    def url(self, path: str, port_index: int = 0) -> str:
        return f"http://127.0.0.1:{self.ports[port_index % len(self.ports)]}{path}"

    def get_json(self, path: str) -> Any:
        with urllib.request.urlopen(self.url(path), timeout=10) as response:
            return json.loads(response.read())

    def post(self, path: str, body: bytes = b"") -> None:
        request = urllib.request.Request(self.url(path), data=body, method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()

    def close(self) -> None:
        if self.process.poll() is None:
            if self.process.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    self.process.stdin.close()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()
