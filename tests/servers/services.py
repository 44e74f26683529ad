"""Loopback stand-ins for ntfy, Telegram, Matrix, Teams Workflows and PagerDuty that check each request the way
the real service documents it (method, path, auth, JSON shape, limits) and answer with the service's real success
and error shapes. Each can be told to fail next (`then`), e.g. a 429 with the service's own retry hint."""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.servers.webhook_receiver import free_port

Reply = tuple[int, dict[str, Any], dict[str, str]]
"""(status, JSON answer, extra headers)."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int


class ServiceServer:
    """Serves one service on 127.0.0.1; `judge(method, path, headers, body)` is the service's own checking."""

    def __init__(self, judge: Callable[[str, str, dict[str, str], Any], Reply]) -> None:
        self.port = free_port()
        self.judge = judge
        self.requests: list[Request] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def then(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def accepted(self) -> list[Request]:
        with self._lock:
            return [request for request in self.requests if 200 <= request.status < 300]

    def __enter__(self) -> ServiceServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _handle(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with server._lock:
                    scripted = server._script.popleft() if server._script else None
                status, answer, extra = scripted or server.judge(self.command, self.path, headers, body)
                with server._lock:
                    server.requests.append(Request(self.command, self.path, headers, body, status))
                payload = json.dumps(answer).encode()
                self.send_response(status)
                for name, value in {"content-type": "application/json", **extra}.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PUT = do_GET = _handle

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


def _length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def telegram(token: str, chats: set[int | str]) -> ServiceServer:
    """Bot API: POST /bot<token>/sendMessage; {"ok": false, "error_code", "description"} on errors."""
    def judge(method: str, path: str, headers: dict[str, str], body: Any) -> Reply:
        def error(code: int, description: str) -> Reply:
            return code, {"ok": False, "error_code": code, "description": description}, {}
        if method != "POST" or not path.endswith("/sendMessage"):
            return error(404, "Not Found")
        if path != f"/bot{token}/sendMessage":
            return error(401, "Unauthorized")
        if not headers.get("content-type", "").startswith("application/json") or not isinstance(body, dict):
            return error(400, "Bad Request: message text is empty")
        if body.get("chat_id") not in chats:
            return error(400, "Bad Request: chat not found")
        text = body.get("text", "")
        if not text:
            return error(400, "Bad Request: message text is empty")
        if _length(text) > 4096:
            return error(400, "Bad Request: message is too long")
        if body.get("parse_mode") != "HTML" or _unbalanced_html(text):
            return error(400, "Bad Request: can't parse entities: unsupported start tag")
        return 200, {"ok": True, "result": {"message_id": 1, "chat": {"id": body["chat_id"]}, "text": text}}, {}
    return ServiceServer(judge)


_ALLOWED_TAGS = ("b", "strong", "i", "em", "u", "s", "a", "code", "pre", "blockquote")


def _unbalanced_html(text: str) -> bool:
    """What Telegram's HTML parser refuses: a tag it does not know, or a bare '<' or '&' that is no entity."""
    for match in re.finditer(r"<(/?)([a-zA-Z]*)[^>]*>|<|&(?!(lt|gt|amp|quot);)", text):
        if match.group(0) in ("<", "&") or match.group(2) not in _ALLOWED_TAGS:
            return True
    return False


def ntfy(token: str | None, topic: str) -> ServiceServer:
    """ntfy JSON publishing: POST / with {"topic", "message", ...}; errors {"code", "http", "error"}."""
    def judge(method: str, path: str, headers: dict[str, str], body: Any) -> Reply:
        def error(status: int, code: int, text: str) -> Reply:
            return status, {"code": code, "http": status, "error": text}, {}
        if method != "POST" or path != "/" or not isinstance(body, dict):
            return error(400, 40001, "invalid request: JSON body expected")
        if token is not None and headers.get("authorization") != f"Bearer {token}":
            return error(401, 40101, "unauthorized")
        if body.get("topic") != topic:
            return error(403, 40301, "forbidden")
        if len(body.get("message", "").encode()) > 4096:
            return error(413, 41301, "request entity too large")
        if not 1 <= body.get("priority", 3) <= 5 or not isinstance(body.get("tags", []), list):
            return error(400, 40007, "invalid priority")
        return 200, {"id": "n1", "time": 1, "event": "message", "topic": topic, "message": body["message"]}, {}
    return ServiceServer(judge)


def matrix(token: str, room: str) -> ServiceServer:
    """Matrix client-server API: PUT /_matrix/client/v3/rooms/{room}/send/m.room.message/{txnId}; the same
    txnId from the same token is the same event (idempotent), as the spec requires."""
    events: dict[str, str] = {}
    lock = threading.Lock()
    prefix = f"/_matrix/client/v3/rooms/{room.replace('!', '%21').replace(':', '%3A')}/send/m.room.message/"

    def judge(method: str, path: str, headers: dict[str, str], body: Any) -> Reply:
        if headers.get("authorization") != f"Bearer {token}":
            return 401, {"errcode": "M_UNKNOWN_TOKEN", "error": "Invalid access token passed."}, {}
        if method != "PUT" or not path.startswith(prefix) or len(path) == len(prefix):
            return 403, {"errcode": "M_FORBIDDEN", "error": "You are not in this room."}, {}
        if not isinstance(body, dict) or not isinstance(body.get("body"), str) or "msgtype" not in body:
            return 400, {"errcode": "M_BAD_JSON", "error": "Content must have body and msgtype"}, {}
        if len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()) > 65536:
            return 413, {"errcode": "M_TOO_LARGE", "error": "event too large"}, {}
        with lock:
            event_id = events.setdefault(path[len(prefix):], f"$event{len(events)}")
        return 200, {"event_id": event_id}, {}
    server = ServiceServer(judge)
    server.events = events  # type: ignore[attr-defined]
    return server


def teams(path: str) -> ServiceServer:
    """A Workflows webhook: POST of {"type": "message", "attachments": [an Adaptive Card]}; 202 Accepted."""
    def judge(method: str, request_path: str, headers: dict[str, str], body: Any) -> Reply:
        if request_path != path:
            return 404, {"error": {"code": "WorkflowNotFound", "message": "The workflow was not found."}}, {}
        if len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()) > 28 * 1024:
            return 413, {"error": {"code": "MessageSizeTooBig", "message": "Message size is too big."}}, {}
        attachments = body.get("attachments") if isinstance(body, dict) else None
        card = attachments[0].get("content", {}) if isinstance(attachments, list) and attachments else {}
        if (body.get("type") != "message" or attachments[0].get("contentType")
                != "application/vnd.microsoft.card.adaptive" or card.get("type") != "AdaptiveCard"
                or not isinstance(card.get("body"), list)):
            return 400, {"error": {"code": "InvalidRequestContent", "message": "not an Adaptive Card"}}, {}
        return 202, {}, {}
    return ServiceServer(judge)


def pagerduty(routing_key: str) -> ServiceServer:
    """Events API v2: POST /v2/enqueue; 202 {"status": "success", "dedup_key"}; 400 {"status": "invalid event"}."""
    def judge(method: str, path: str, headers: dict[str, str], body: Any) -> Reply:
        def invalid(*errors: str) -> Reply:
            return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": list(errors)}, {}
        if method != "POST" or path != "/v2/enqueue" or not isinstance(body, dict):
            return 404, {"status": "not found"}, {}
        if body.get("routing_key") != routing_key:
            return invalid("'routing_key' is invalid")
        action, dedup_key = body.get("event_action"), body.get("dedup_key")
        if action not in ("trigger", "acknowledge", "resolve") or not isinstance(dedup_key, str) or \
                len(dedup_key) > 255:
            return invalid("'event_action' or 'dedup_key' is invalid")
        if action == "trigger":
            payload = body.get("payload", {})
            if not 0 < len(payload.get("summary", "")) <= 1024 or not payload.get("source") or \
                    payload.get("severity") not in ("critical", "error", "warning", "info"):
                return invalid("'payload' is invalid")
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, {}
    return ServiceServer(judge)
