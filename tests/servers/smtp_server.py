"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every mail it accepts, optionally with AUTH or TLS,
and can be told to refuse the next messages with a given code."""

from __future__ import annotations

import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.servers.webhook_receiver import free_port


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: list[str]
    data: bytes
    login: str | None

    def parsed(self) -> EmailMessage:
        message = message_from_bytes(self.data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_DATA(self, smtp: Any, session: Any, envelope: Any) -> str:
        refusal = self.server._next_refusal()
        if refusal:
            return refusal
        login = session.auth_data if session.authenticated else None
        with self.server._lock:
            self.server.mails.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), envelope.content, login))
        return "250 OK"


class SmtpServer:
    def __init__(self, *, users: dict[str, str] | None = None, tls_context: ssl.SSLContext | None = None,
                 implicit_tls: bool = False) -> None:
        self.mails: list[Mail] = []
        self.port = free_port()
        self._lock = threading.Lock()
        self._refusals: deque[str] = deque()
        options: dict[str, Any] = {}
        if users is not None:
            def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
                ok = isinstance(data, LoginPassword) and users.get(data.login.decode()) == data.password.decode()
                return AuthResult(success=ok, handled=False, auth_data=data.login.decode() if ok else None)

            options.update(authenticator=authenticate, auth_require_tls=tls_context is not None and not implicit_tls)
        if tls_context is not None and implicit_tls:
            options["ssl_context"] = tls_context
        elif tls_context is not None:
            options.update(tls_context=tls_context, require_starttls=True)
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **options)

    def refuse(self, *replies: str) -> None:
        """Answer the next messages' DATA with these replies, e.g. "451 try later" or "550 no such user"."""
        with self._lock:
            self._refusals.extend(replies)

    def _next_refusal(self) -> str | None:
        with self._lock:
            return self._refusals.popleft() if self._refusals else None

    def __enter__(self) -> SmtpServer:
        self._controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._controller.stop()

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Mail]:
        deadline = time.monotonic() + timeout_s
        while len(self.mails) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.mails)
