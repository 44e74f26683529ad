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
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import SupportsIndex

import h11
import httpx

READ_SIZE = 65536
_MAX_HEAD_SIZE = 100 * 1024
"""Largest response head accepted (status line and headers); h11's own default of 16 KB refuses some real sites."""
_DEFAULT_PORTS = {"http": 80, "https": 443}
_HAPPY_EYEBALLS_DELAY_S = 0.25
"""RFC 8305's recommended wait before trying the next address of a host."""
REDIRECT_BODY_LIMIT = 64 * 1024
"""httpx reads a redirect's body whole before following it, past any cap its caller sets on the final body; real
redirect bodies are a few hundred bytes."""

Origin = tuple[str, str, int]


class _Reader(asyncio.StreamReader):
    """Notes bytes that arrive while the connection is idle, and counts those not read yet: what a server sends
    unasked (a body after a 304, a stray response) must not be read as the answer to the next request."""

    idle = False
    stray = False
    unread = 0

    def feed_data(self, data: Iterable[SupportsIndex]) -> None:
        chunk = bytes(data)
        if self.idle:
            self.stray = True
        self.unread += len(chunk)
        super().feed_data(chunk)

    async def read(self, n: int = -1) -> bytes:
        data = await super().read(n)
        self.unread -= len(data)
        return data


@dataclass(slots=True, eq=False)
class _Connection:
    reader: _Reader
    writer: asyncio.StreamWriter
    protocol: h11.Connection = field(default_factory=lambda: h11.Connection(h11.CLIENT, _MAX_HEAD_SIZE))
    idle_since: float = 0.0
    received: int = 0
    """Bytes of the current response received so far: once any arrived, a failure is never retried."""

    def usable(self, now: float, keepalive_s: float) -> bool:
        """An idle connection can carry another request: nothing arrived or closed meanwhile, not kept too long."""
        reader = self.reader
        return (not (reader.stray or reader.at_eof() or self.writer.is_closing())
                and now - self.idle_since < keepalive_s)

    def close(self) -> None:
        self.writer.close()


class Timeouts:
    """Per-phase timeouts in seconds (None: no limit)."""

    __slots__ = ("connect", "read", "write")

    def __init__(self, connect: float | None, read: float | None, write: float | None) -> None:
        self.connect = connect
        self.read = read
        self.write = write

    @classmethod
    def of(cls, request: httpx.Request) -> Timeouts:
        """The timeouts httpx passes in `request.extensions["timeout"]`."""
        given: dict[str, float | None] = request.extensions.get("timeout", {})
        return cls(given.get("connect"), given.get("read"), given.get("write"))


class LeanTransport(httpx.AsyncBaseTransport):
    """HTTP/1.1 only. Safe for many concurrent requests; callers bound concurrency per host themselves.

    At most `idle_per_origin` connections per origin and `max_idle` in all are kept alive between requests (each
    holds a file descriptor; feeds may live on thousands of hosts)."""

    def __init__(self, *, ssl_context: ssl.SSLContext | Callable[[], ssl.SSLContext], idle_per_origin: int,
                 max_idle: int, keepalive_s: float = 15.0) -> None:
        self._ssl = ssl_context
        """Or what makes it, called at the first HTTPS connection (loading the CA store costs tens of ms)."""
        self._idle_per_origin = idle_per_origin
        self._max_idle = max_idle
        self._keepalive_s = keepalive_s
        self._idle: dict[Origin, list[_Connection]] = {}
        self._idle_count = 0
        self._busy: set[_Connection] = set()
        self._closed = False
        self._swept_at = time.monotonic()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        origin = origin_of(url, request)
        body = [chunk async for chunk in _request_body(request)]
        # httpx has already set Host and the body's framing (Content-Length or chunked) in the headers.
        head, stream = await self.exchange(origin, request.method, url.raw_path, request.headers.raw, body,
                                           Timeouts.of(request), request)
        return httpx.Response(
            head.status_code,
            headers=head.headers.raw_items(),
            stream=stream,
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": head.reason},
        )

    async def exchange(self, origin: Origin, method: str | bytes, target: bytes, headers: list[tuple[bytes, bytes]],
                       body: list[bytes], timeouts: Timeouts, request: httpx.Request | None = None,
                       ) -> tuple[h11.Response, ResponseStream]:
        """One request on a kept or new connection: the response head, and its body as a stream that hands the
        connection back when closed. `headers` must include Host. The feed fetcher calls this directly (httpx's
        request and response models cost as much CPU as the wire work); `request` only names the request in
        httpx's exceptions."""
        connection = self._take_idle(origin)
        if connection is not None:
            try:
                return await self._exchange(connection, origin, method, target, headers, body, timeouts, request)
            except _StaleConnection:
                pass  # the server closed it as we reused it: nothing was processed, a fresh connection retries
        connection = await self._connect(origin, request, timeouts)
        try:
            return await self._exchange(connection, origin, method, target, headers, body, timeouts, request)
        except _StaleConnection:
            raise httpx.RemoteProtocolError("the connection closed before any answer arrived",
                                            request=request) from None

    def _tls(self) -> ssl.SSLContext:
        if not isinstance(self._ssl, ssl.SSLContext):
            self._ssl = self._ssl()
        return self._ssl

    @property
    def is_closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        self._closed = True
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        self._idle_count = 0
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
            self._idle_count -= 1
            if not idle:
                del self._idle[origin]
            if connection.usable(now, self._keepalive_s):
                connection.reader.idle = False
                connection.received = 0
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
            self._idle_count -= len(idle) - len(kept)
            if kept:
                self._idle[origin] = kept
            else:
                del self._idle[origin]

    def release(self, connection: _Connection, origin: Origin) -> None:
        """Back to the idle list when the exchange ended cleanly and both sides allow reuse, else closed."""
        self._busy.discard(connection)
        protocol = connection.protocol
        # Bytes past the response, parsed or still buffered: the server is out of step with us.
        reusable = (protocol.our_state is h11.DONE and protocol.their_state is h11.DONE
                    and not protocol.trailing_data[0] and not connection.reader.unread)
        idle = self._idle.get(origin, [])
        if self._closed or not reusable or len(idle) >= self._idle_per_origin:
            connection.close()
            return
        if self._idle_count >= self._max_idle:
            self._close_longest_idle()
        protocol.start_next_cycle()
        connection.idle_since = time.monotonic()
        connection.reader.idle = True
        self._idle[origin] = [*idle, connection]
        self._idle_count += 1

    def _close_longest_idle(self) -> None:
        """Make room under max_idle: the connection idle longest is the least likely to be asked for again (a
        host with one feed), while a host with many feeds keeps its connections warm."""
        origin, idle = min(self._idle.items(), key=lambda entry: entry[1][0].idle_since)
        idle.pop(0).close()
        self._idle_count -= 1
        if not idle:
            del self._idle[origin]

    async def _connect(self, origin: Origin, request: httpx.Request | None, timeouts: Timeouts) -> _Connection:
        scheme, host, port = origin
        secure = scheme == "https"
        loop = asyncio.get_running_loop()
        # What asyncio.open_connection does, with a reader of our own.
        reader = _Reader(limit=READ_SIZE)
        stream_protocol = asyncio.StreamReaderProtocol(reader)
        try:
            async with asyncio.timeout(timeouts.connect):
                # Happy eyeballs, as anyio does for httpx's own transport: a host whose IPv6 route is broken
                # costs a quarter second, not the whole connect timeout.
                transport, _ = await loop.create_connection(
                    lambda: stream_protocol, host, port, ssl=self._tls() if secure else None,
                    server_hostname=host if secure else None, happy_eyeballs_delay=_HAPPY_EYEBALLS_DELAY_S,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"connecting to {host}:{port} timed out", request=request) from None
        except (OSError, UnicodeError, ValueError) as exc:  # ssl.SSLError is an OSError
            raise httpx.ConnectError(str(exc) or type(exc).__name__, request=request) from None
        connection = _Connection(reader, asyncio.StreamWriter(transport, stream_protocol, reader, loop))
        self._busy.add(connection)
        return connection

    async def _exchange(self, connection: _Connection, origin: Origin, method: str | bytes, target: bytes,
                        headers: list[tuple[bytes, bytes]], body: list[bytes], timeouts: Timeouts,
                        request: httpx.Request | None) -> tuple[h11.Response, ResponseStream]:
        """Send the request and read the response head; the body is read as the caller consumes the stream."""
        try:
            await self._send(connection, method, target, headers, body, timeouts, request)
            head = await self._receive_head(connection, request, timeouts)
        except BaseException:
            self._busy.discard(connection)
            connection.close()
            raise
        return head, ResponseStream(self, connection, origin, request, timeouts,
                                    REDIRECT_BODY_LIMIT if 300 <= head.status_code < 400 else None)

    @staticmethod
    async def _send(connection: _Connection, method: str | bytes, target: bytes,
                    headers: list[tuple[bytes, bytes]], body: list[bytes], timeouts: Timeouts,
                    request: httpx.Request | None) -> None:
        protocol = connection.protocol
        try:
            wire = [protocol.send(h11.Request(method=method, target=target, headers=headers))]
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
            # Nothing of an answer can have arrived before the request went out.
            raise _StaleConnection from exc

    @staticmethod
    async def _receive_head(connection: _Connection, request: httpx.Request | None, timeouts: Timeouts) -> h11.Response:
        while True:
            event = await _next_event(connection, request, timeouts)
            if isinstance(event, h11.Response):
                return event
            # 1xx informational answers are skipped; nothing else can come before the response head.
            if not isinstance(event, h11.InformationalResponse):
                raise httpx.RemoteProtocolError(f"unexpected {type(event).__name__} before the response",
                                                request=request)


def origin_of(url: httpx.URL, request: httpx.Request | None = None) -> Origin:
    """Scheme, host as it goes on the wire and port of `url`; UnsupportedProtocol for what is not HTTP(S)."""
    default_port = _DEFAULT_PORTS.get(url.scheme)
    if default_port is None:
        raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}", request=request)
    # httpx has already applied IDNA 2008 (Python's own codec would apply IDNA 2003 and reach a different host for
    # names with ß or ς).
    host = url.raw_host.decode("ascii")
    if not host:
        raise httpx.UnsupportedProtocol("the URL has no host", request=request)
    return url.scheme, host, url.port or default_port


class _StaleConnection(Exception):
    """A connection closed before any byte of the response arrived (on a reused one: the server's keep-alive
    ended as the request went out, and the request can be sent again on a new connection)."""


async def _next_event(connection: _Connection, request: httpx.Request | None, timeouts: Timeouts) -> object:
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
                data = await connection.reader.read(READ_SIZE)
        except TimeoutError:
            raise httpx.ReadTimeout("the server stopped sending", request=request) from None
        except OSError as exc:
            if not connection.received:
                raise _StaleConnection from exc
            raise httpx.ReadError(str(exc) or type(exc).__name__, request=request) from None
        if not (data or connection.received):
            raise _StaleConnection
        connection.received += len(data)
        protocol.receive_data(data)


async def _request_body(request: httpx.Request) -> AsyncIterator[bytes]:
    stream = request.stream
    if isinstance(stream, httpx.AsyncByteStream):
        async for chunk in stream:
            yield chunk
    else:
        raise httpx.LocalProtocolError("a synchronous request body cannot be sent by an async transport",
                                       request=request)


class ResponseStream(httpx.AsyncByteStream):
    """A response's body as it arrives; closing it hands the connection back (kept when the exchange ended
    cleanly)."""

    def __init__(self, transport: LeanTransport, connection: _Connection, origin: Origin, request: httpx.Request | None,
                 timeouts: Timeouts, limit: int | None) -> None:
        self._transport = transport
        self._limit = limit
        self._connection = connection
        self._origin = origin
        self._request = request
        self._timeouts = timeouts
        self._released = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        size = 0
        while True:
            event = await _next_event(self._connection, self._request, self._timeouts)
            if not isinstance(event, h11.Data):
                return  # EndOfMessage (or the close that ends a body without framing)
            size += len(event.data)
            if self._limit is not None and size > self._limit:
                raise httpx.RemoteProtocolError(f"a redirect's body is larger than {self._limit} bytes",
                                                request=self._request)
            yield bytes(event.data)

    async def aclose(self) -> None:
        if not self._released:
            self._released = True
            self._transport.release(self._connection, self._origin)
