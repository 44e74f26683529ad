"""A real HTTP webhook receiver on 127.0.0.1 that records every request and verifies it with the reference
`standardwebhooks` package. It can be scripted: fail N times, answer 429 with Retry-After, answer 410, be down.

Run standalone (for benchmarks, in its own process): `python -m tests.servers.webhook_receiver [--secret S]`
prints the port on its first line and serves until stdin closes; GET /stats answers {"received": N}.
"""

from __future__ import annotations

import json
import socket
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


@dataclass(frozen=True)
class Answer:
    status: int = 204
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay_s: float = 0.0
    """Wait this long before answering (a receiver slower than the sender's timeout)."""


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    status: int
    verified: bool | None
    """True/False when the receiver has a secret, None without one."""

    def json(self) -> Any:
        return json.loads(self.body)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class WebhookReceiver:
    def __init__(self, secret: str | None = None, port: int | None = None, record: bool = True,
                 tls_context: ssl.SSLContext | None = None,
                 judge: Callable[[bytes], tuple[int, bytes] | None] | None = None) -> None:
        self.secret = secret
        self.judge = judge
        """Checks a body as the real service would: (status, answer) to refuse it, None to go on."""
        self.tls_context = tls_context
        self.port = port or free_port()
        self.record = record
        self.requests: list[Received] = []
        self.received_count = 0
        self._script: deque[Answer] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls_context else 'http'}://127.0.0.1:{self.port}/hook"

    def then(self, *answers: Answer) -> None:
        """Answer the next requests like this, in order; afterwards 204."""
        with self._lock:
            self._script.extend(answers)

    def fail(self, times: int, status: int = 500) -> None:
        self.then(*(Answer(status) for _ in range(times)))

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                body = json.dumps({"received": receiver.received_count}).encode()
                self._answer(Answer(200, {"content-type": "application/json"}, body))

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:
                    return  # the sender went away mid-request (killed): nothing was delivered
                refusal = receiver.judge(body) if receiver.judge else None
                answer = Answer(refusal[0], {"content-type": "application/json"}, refusal[1]) if refusal \
                    else receiver._next_answer()
                receiver._record(dict(self.headers.items()), body, answer.status)
                self._answer(answer)

            def _answer(self, answer: Answer) -> None:
                time.sleep(answer.delay_s)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        if self.tls_context is not None:
            server.socket = self.tls_context.wrap_socket(server.socket, server_side=True)
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go down: connections are refused until start() is called again (same port)."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _next_answer(self) -> Answer:
        with self._lock:
            return self._script.popleft() if self._script else Answer()

    def _record(self, headers: dict[str, str], body: bytes, status: int) -> None:
        verified = None
        if self.secret is not None:
            try:
                Webhook(self.secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                verified = False
        with self._lock:
            self.received_count += 1
            if self.record:
                self.requests.append(Received(headers, body, status, verified))

    def accepted(self) -> list[Received]:
        with self._lock:
            return [request for request in self.requests if 200 <= request.status < 300]

    def wait_for(self, accepted: int, timeout_s: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while len(self.accepted()) < accepted and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.accepted()


def main() -> None:
    secret = sys.argv[sys.argv.index("--secret") + 1] if "--secret" in sys.argv else None
    receiver = WebhookReceiver(secret=secret, record=False).start()
    print(receiver.port, flush=True)
    sys.stdin.read()
    receiver.stop()


if __name__ == "__main__":
    main()
