"""A lean HTTP/1.1 transport for httpx: asyncio streams, h11 for the wire format, idle connections kept per origin.

httpx stays the client (redirects, decompression, headers, timeouts as its `Timeout` says); only the layer below
it changes. httpx's default transport (httpcore over anyio) spends about 0.4 ms of CPU per request on cancel
scopes, locks and pool bookkeeping, more than the rest of a 304 poll together; for a daemon that makes thousands
of small requests per cycle that was the largest single cost (docs/performance.md). This transport does the same
job for HTTP/1.1 with one asyncio stream per connection. Proxies are left to httpx's own transport.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import h11
import httpx

_READ_SIZE = 65536
_MAX_HEAD_SIZE = 100 * 1024
"""Largest response head accepted (status line and headers); h11's own default of 16 KB refuses some real sites."""
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HAPPY_EYEBALLS_DELAY_S = 0.25
"""RFC 8305's recommended wait before trying the next address of a host."""

Origin = tuple[str, str, int]


@dataclass(slots=True, eq=False)
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    protocol: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT, _MAX_HEAD_SIZE))
    idle_since: float = 0.0

    def usable(self, now: float, keepalive_s: float) -> bool:
        """An idle connection can carry another request: not closed by the server meanwhile, not kept too long."""
        return not (self.reader.at_eof() or self.writer.is_closing()) and now - self.idle_since < keepalive_s

    def close(self) -> None:
        self.writer.close()


class _Timeouts:
    """The per-phase timeouts httpx passes in `request.extensions["timeout"]` (None: no limit)."""

    __slots__ = ("connect", "read", "write")

    def __init__(self, request: httpx.Request) -> None:
        given: dict[str, float | None] = request.extensions.get("timeout", {})
        self.connect = given.get("connect")
        self.read = given.get("read")
        self.write = given.get("write")


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 only. Safe for many concurrent requests; callers bound concurrency per host themselves."""

    def __init__(self, *, ssl_context: ssl.SSLContext, idle_per_origin: int, keepalive_s: float = 15.0) -> None:
        self._ssl = ssl_context
        self._idle_per_origin = idle_per_origin
        self._keepalive_s = keepalive_s
        self._idle: dict[Origin, list[_Connection]] = {}
        self._busy: set[_Connection] = set()
        self._closed = False
        self._swept_at = time.monotonic()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        default_port = _DEFAULT_PORTS.get(url.scheme)
        if default_port is None:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
        if not url.host:
            raise httpx.UnsupportedProtocol("the URL has no host", request=request)
        origin = (url.scheme, url.host, url.port or default_port)
        timeouts = _Timeouts(request)
        body = [chunk async for chunk in _request_body(request)]
        connection = self._take_idle(origin)
        if connection is not None:
            try:
                return await self._exchange(connection, origin, request, body, timeouts)
            except _StaleConnection:
                pass  # the server closed it as we reused it: nothing was processed, a fresh connection retries
        connection = await self._connect(origin, request, timeouts)
        try:
            return await self._exchange(connection, origin, request, body, timeouts)
        except _StaleConnection:
            raise httpx.RemoteProtocolError("the server closed the connection without answering",
                                            request=request) from None

    async def aclose(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        for connection in self._busy:
            connection.close()
        self._busy.clear()

    def _take_idle(self, origin: Origin) -> _Connection | None:
        now = time.monotonic()
        if now - self._swept_at >= self._keepalive_s:
            self._sweep(now)
        idle = self._idle.get(origin)
        while idle:
            connection = idle.pop()
            if connection.usable(now, self._keepalive_s):
                self._busy.add(connection)
                return connection
            connection.close()
        return None

    def _sweep(self, now: float) -> None:
        """Close idle connections past their keep-alive: with feeds on thousands of hosts, each polled every few
        minutes, they would otherwise hold a file descriptor each until their host's next poll."""
        self._swept_at = now
        for origin, idle in list(self._idle.items()):
            kept = [connection for connection in idle if connection.usable(now, self._keepalive_s)]
            for connection in idle:
                if connection not in kept:
                    connection.close()
            if kept:
                self._idle[origin] = kept
            else:
                del self._idle[origin]

    def release(self, connection: _Connection, origin: Origin) -> None:
        """Back to the idle list when the exchange ended cleanly and both sides allow reuse, else closed."""
        self._busy.discard(connection)
        protocol = connection.protocol
        if self._closed or protocol.our_state is not h11.DONE or protocol.their_state is not h11.DONE:
            connection.close()
            return
        idle = self._idle.setdefault(origin, [])
        if len(idle) >= self._idle_per_origin:
            connection.close()
            return
        protocol.start_next_cycle()
        connection.idle_since = time.monotonic()
        idle.append(connection)

    async def _connect(self, origin: Origin, request: httpx.Request, timeouts: _Timeouts) -> _Connection:
        scheme, host, port = origin
        secure = scheme == "https"
        try:
            async with asyncio.timeout(timeouts.connect):
                # Happy eyeballs, as anyio does for httpx's own transport: a host whose IPv6 route is broken
                # costs a quarter second, not the whole connect timeout.
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=self._ssl if secure else None, server_hostname=host if secure else None,
                    limit=_READ_SIZE, happy_eyeballs_delay=_HAPPY_EYEBALLS_DELAY_S,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out", request=request) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        connection = _Connection(reader, writer)
        self._busy.add(connection)
        return connection

    async def _exchange(self, connection: _Connection, origin: Origin, request: httpx.Request, body: list[bytes],
                        timeouts: _Timeouts) -> httpx.Response:
        """Send the request and read the response head; the body is read as httpx consumes the stream."""
        try:
            await self._send(connection, request, body, timeouts)
            head = await self._receive_head(connection, request, timeouts)
        except BaseException:
            self._busy.discard(connection)
            connection.close()
            raise
        return httpx.Response(
            head.status_code,
            headers=head.headers.raw_items(),
            stream=_ResponseStream(self, connection, origin, request, timeouts),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
        )

    @staticmethod
    async def _send(connection: _Connection, request: httpx.Request, body: list[bytes], timeouts: _Timeouts) -> None:
        protocol = connection.protocol
        # httpx has already set Host and the body's framing (Content-Length or chunked) in the headers.
        headers = request.headers.raw
        try:
            wire = [protocol.send(h11.Request(method=request.method, target=request.url.raw_path, headers=headers))]
            wire += [protocol.send(h11.Data(data=chunk)) for chunk in body if chunk]
            wire.append(protocol.send(h11.EndOfMessage()))
        except h11.LocalProtocolError as exc:
            raise httpx.LocalProtocolError(str(exc), request=request) from None
        connection.writer.write(b"".join(data for data in wire if data))
        try:
            async with asyncio.timeout(timeouts.write):
                await connection.writer.drain()
        except TimeoutError:
            raise httpx.WriteTimeout("sending the request timed out", request=request) from None
        except OSError as exc:
            if _nothing_received(protocol):
                raise _StaleConnection from exc
            raise httpx.WriteError(str(exc) or type(exc).__name__, request=request) from None

    @staticmethod
    async def _receive_head(connection: _Connection, request: httpx.Request, timeouts: _Timeouts) -> h11.Response:
        while True:
            event = await _next_event(connection, request, timeouts)
            if isinstance(event, h11.Response):
                return event
            # 1xx informational answers are skipped; nothing else can come before the response head.
            if not isinstance(event, h11.InformationalResponse):
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} before the response",
                                                request=request)


class _StaleConnection(Exception):
    """A reused connection closed before any byte of the response arrived."""


def _nothing_received(protocol: h11.Connection) -> bool:
    """True while no byte of the response has arrived: a connection failing now never reached the server's app."""
    return protocol.their_state is h11.SEND_RESPONSE and not protocol.trailing_data[0]


async def _next_event(connection: _Connection, request: httpx.Request, timeouts: _Timeouts) -> object:
    """The next h11 event of the response, reading from the socket as needed."""
    protocol = connection.protocol
    while True:
        try:
            event = protocol.next_event()
        except h11.RemoteProtocolError as exc:
            raise httpx.RemoteProtocolError(f"malformed HTTP response: {exc}", request=request) from None
        if event is not h11.NEED_DATA:
            return event
        try:
            async with asyncio.timeout(timeouts.read):
                data = await connection.reader.read(_READ_SIZE)
        except TimeoutError:
            raise httpx.ReadTimeout("the server stopped sending", request=request) from None
        except OSError as exc:
            if _nothing_received(protocol):
                raise _StaleConnection from exc
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from None
        if not data and _nothing_received(protocol):
            raise _StaleConnection
        protocol.receive_data(data)


async def _request_body(request: httpx.Request) -> AsyncIterator[bytes]:
    stream = request.stream
    if isinstance(stream, httpx.AsyncByteStream):
        async for chunk in stream:
            yield chunk
    else:
        raise httpx.LocalProtocolError("a synchronous request body cannot be sent by an async transport",
                                       request=request)


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, transport: LeanTransport, connection: _Connection, origin: Origin, request: httpx.Request,
                 timeouts: _Timeouts) -> None:
        self._transport = transport
        self._connection = connection
        self._origin = origin
        self._request = request
        self._timeouts = timeouts
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            event = await _next_event(self._connection, self._request, self._timeouts)
            if not isinstance(event, h11.Data):
                return  # EndOfMessage (or the close that ends a body without framing)
            yield bytes(event.data)

    async def aclose(self) -> None:
        if not self._released:
            self._released = True
            self._transport.release(self._connection, self._origin)
