"""Fetching feeds over HTTP: conditional GET, a size cap while streaming, redirects, Retry-After, concurrency limits.

Feed GETs go straight to the lean HTTP/1.1 transport (fetch/transport.py): the request is a handful of header
lines, redirects are followed here and bodies decoded by fetch/decoding.py, because httpx's request and response
models, its redirect and cookie layers cost as much CPU per poll as the wire work itself. Through a proxy, an
httpx client (with its own transport) does the request. In-flight requests are bounded globally and per host by
semaphores. No cookies are kept, on either path: a feed poller has no session, and cookies set by one feed must
not follow the daemon to the next poll.

Redirect policy: a feed whose host is outside http.internal_networks may not redirect into them (checked on each
hop, by resolving its host, in an httpx request hook) unless the feed sets allow_internal_redirects. A feed
configured on an internal address may redirect anywhere: the operator chose it. The check resolves the name
before the connection does, so a DNS answer that changes between the two is not caught; a firewall rule is the complete
fix where that matters.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import http.cookiejar
import ipaddress
import socket
import ssl
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Protocol

import httpx

from tocsin import __version__
from tocsin.backoff import parse_retry_after
from tocsin.config.feeds import HttpConfig
from tocsin.errors import FetchError
from tocsin.fetch.decoding import ACCEPT_ENCODING, BodyDecoder, BodyTooLarge, CorruptBody
from tocsin.fetch.transport import LeanTransport, Timeouts, origin_of
from tocsin.urls import redact_url

USER_AGENT = f"tocsin/{__version__} (+https://github.com/tocsin/tocsin)"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, application/json;q=0.8, */*;q=0.1"
)


@dataclass(frozen=True, slots=True)
class Validators:
    """What the server said last time, sent back so that an unchanged feed costs a 304."""

    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True)
class FetchResult:
    status: int
    body: bytes | None
    """None for 304 Not Modified."""
    etag: str | None
    last_modified: str | None
    url: str
    """The final URL after redirects (links in the feed are resolved against it)."""
    elapsed_s: float
    content_type: str | None = None
    moved_to: str | None = None
    """Set when the feed answered with a permanent redirect (301, 308): its url in the config is outdated."""
    warning: str | None = None
    """Set when a validator the server sent was dropped because it cannot be sent back."""

    @property
    def not_modified(self) -> bool:
        return self.body is None

    @property
    def validators(self) -> Validators:
        return Validators(self.etag, self.last_modified)


@dataclass(slots=True)
class _Hops:
    """The redirect policy's view of one fetch: the feed's own host, and whether it may redirect inward."""

    feed_host: str
    allow_internal: bool
    seen: int = 0
    feed_is_internal: bool | None = field(default=None)


class _InternalRedirect(Exception):
    def __init__(self, target: str) -> None:
        self.target = target


_current_hops: ContextVar[_Hops | None] = ContextVar("tocsin_fetch_hops", default=None)
"""The hops of the fetch in progress, for the httpx client's request hook (the proxy path)."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class _Answer:
    """A response as the fetcher reads it, whichever path made the request."""

    status: int
    reason: str
    header: Callable[[str], str | None]
    """The value of a header by its name (any case); repeated headers joined with commas."""
    url: str
    permanent: bool
    """Whether a redirect on the way was permanent (301, 308)."""
    chunks: AsyncIterator[bytes]
    """The decoded body as it arrives."""


class _Closable(Protocol):
    async def aclose(self) -> None: ...


@functools.lru_cache(maxsize=16384)
def _parsed(url: str) -> httpx.URL:
    """A feed's URL parsed once (IDNA 2008 applied), not on every poll."""
    return httpx.URL(url)


def _refuse_all_cookies() -> http.cookiejar.CookieJar:
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


class Fetcher:
    """One per service. `fetch` is safe to call from many tasks at once; `close` releases every connection."""

    def __init__(self, config: HttpConfig) -> None:
        # Made with the first client: loading the system's CA store is a large part of a feedless run's start-up.
        self._ssl: ssl.SSLContext | None = None
        self._client: httpx.AsyncClient | None = None
        self._transport: LeanTransport | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._host_limits: dict[str, asyncio.Semaphore] = {}
        self.config = config
        self.configure(config)

    def configure(self, config: HttpConfig) -> None:
        """Apply new HTTP settings (call from the event loop); requests already running finish on the clients
        built for the old settings, which are closed after the old total_timeout."""
        for old in (self._client, self._transport):
            if old is not None:
                retiring = asyncio.get_running_loop().create_task(
                    _close_later(old, self.config.total_timeout.total_seconds())
                )
                self._retiring.add(retiring)
                retiring.add_done_callback(self._retiring.discard)
        self.config = config
        self._global_limit = asyncio.Semaphore(config.concurrency)
        self._host_limits = {}
        self._client = None
        self._transport = None
        self._timeouts = Timeouts(config.connect_timeout.total_seconds(), config.read_timeout.total_seconds(),
                                  config.read_timeout.total_seconds())
        self._headers = [(b"User-Agent", (config.user_agent or USER_AGENT).encode()), (b"Accept", ACCEPT.encode()),
                         (b"Accept-Encoding", ACCEPT_ENCODING.encode())]

    async def close(self) -> None:
        client, self._client = self._client, None
        transport, self._transport = self._transport, None
        for retiring in list(self._retiring):
            retiring.cancel()  # closes its client now
        await asyncio.gather(*self._retiring, return_exceptions=True)
        for current in (client, transport):
            if current is not None:
                await current.aclose()

    async def fetch(
        self, url: str, validators: Validators = Validators(), *, allow_internal_redirects: bool = False
    ) -> FetchResult:
        """GET the feed. Raises FetchError (with `status` and `retry_after_s` when the server gave them)."""
        try:
            target = _parsed(url)
            host = target.host
        except (httpx.InvalidURL, UnicodeError) as exc:
            # httpx lets IDNA errors through (a feed naming a host such as "xn--.example").
            raise FetchError(f"{redact_url(url)}: not a valid host name ({exc})") from None
        host_limit = self._host_limits.get(host)
        if host_limit is None:
            host_limit = self._host_limits[host] = asyncio.Semaphore(self.config.per_host_concurrency)
        async with self._global_limit, host_limit:
            try:
                async with asyncio.timeout(self.config.total_timeout.total_seconds()):
                    return await self._get(url, target, validators, _Hops(host, allow_internal_redirects))
            except TimeoutError:
                raise FetchError(
                    f"{redact_url(url)}: no complete response within {self.config.total_timeout.total_seconds():g}s "
                    "(http.total_timeout)"
                ) from None

    def _ssl_context(self) -> ssl.SSLContext:
        """Made at the first request: loading the CA store is start-up work a cycle with no feed never needs."""
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    def _open_client(self) -> httpx.AsyncClient:
        """The client for the current settings, made on first use (it must be made inside the event loop)."""
        config = self.config
        self._client = httpx.AsyncClient(
            verify=self._ssl_context(),
            follow_redirects=config.max_redirects > 0,
            max_redirects=config.max_redirects,
            timeout=httpx.Timeout(
                connect=config.connect_timeout.total_seconds(),
                read=config.read_timeout.total_seconds(),
                write=config.read_timeout.total_seconds(),
                pool=config.total_timeout.total_seconds(),
            ),
            headers={"User-Agent": config.user_agent or USER_AGENT, "Accept": ACCEPT},
            # Used by httpx's own transport, the one a proxy gets: as many connections as requests in flight.
            limits=httpx.Limits(max_connections=config.concurrency, max_keepalive_connections=config.concurrency),
            proxy=config.proxy,
            event_hooks={"request": [self._check_hop]},
            cookies=_refuse_all_cookies(),
            trust_env=False,
        )
        return self._client

    async def _check_hop(self, request: httpx.Request) -> None:
        """The httpx client's request hook: the redirect policy for the proxy path."""
        hops = _current_hops.get()
        if hops is not None:
            await self._check_hop_to(hops, request.url)

    async def _check_hop_to(self, hops: _Hops, url: httpx.URL) -> None:
        """Raise _InternalRedirect when this request is a redirect the policy refuses (see the module docstring)."""
        hops.seen += 1
        if hops.seen == 1 or hops.allow_internal or not await self._is_internal(url.host):
            return
        if hops.feed_is_internal is None:
            hops.feed_is_internal = await self._is_internal(hops.feed_host)
        if not hops.feed_is_internal:
            raise _InternalRedirect(str(url))

    async def _is_internal(self, host: str) -> bool:
        """Whether `host` (an address, or a name resolved here) lies in http.internal_networks."""
        try:
            addresses = [ipaddress.ip_address(host.strip("[]"))]
        except ValueError:
            try:
                answers = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
            except OSError:
                return False  # the connection attempt reports it
            addresses = [ipaddress.ip_address(answer[4][0]) for answer in answers]
        networks = self.config.internal_networks
        return any(address in network for address in addresses for network in networks
                   if address.version == network.version)

    async def _get(self, url: str, target: httpx.URL, validators: Validators, hops: _Hops) -> FetchResult:
        # A validator stored before it was checked (older versions kept any) is not sent: one bad byte would fail
        # every request to the feed, across restarts.
        validators = Validators(_sendable(validators.etag), _sendable(validators.last_modified))
        dropped: list[str] = []
        started = time.monotonic()
        exchange = self._through_proxy(url, validators, hops) if self.config.proxy else self._direct(
            target, validators, hops)
        try:
            async with exchange as answer:
                _raise_for_status(answer, url)
                etag = _validator(answer, "ETag", dropped) or validators.etag
                last_modified = _validator(answer, "Last-Modified", dropped) or validators.last_modified
                if answer.status == 304:
                    # Reading the (empty) body returns the connection to the pool; closing an unread one drops it.
                    async for _ in answer.chunks:
                        pass
                    body = None
                else:
                    body = await self._read_capped(answer, url)
        except _InternalRedirect as refused:
            raise FetchError(
                f"{redact_url(url)}: refused to follow a redirect to an internal address "
                f"({redact_url(refused.target)}); set allow_internal_redirects = true on the feed if that is intended"
            ) from None
        except httpx.TooManyRedirects:
            raise FetchError(
                f"{redact_url(url)}: redirect loop or more than {self.config.max_redirects} redirects "
                "(http.max_redirects)"
            ) from None
        except httpx.ConnectTimeout:
            raise FetchError(
                f"{redact_url(url)}: connect timed out after {self.config.connect_timeout.total_seconds():g}s"
            ) from None
        except httpx.TimeoutException:
            raise FetchError(
                f"{redact_url(url)}: the server stopped sending for {self.config.read_timeout.total_seconds():g}s "
                "(http.read_timeout)"
            ) from None
        except httpx.ConnectError as exc:
            raise FetchError(f"{redact_url(url)}: cannot connect ({exc or 'connection refused'})") from None
        except httpx.UnsupportedProtocol as exc:
            raise FetchError(f"{redact_url(url)}: redirected to an unsupported URL ({exc})") from None
        except (httpx.DecodingError, CorruptBody) as exc:
            raise FetchError(f"{redact_url(url)}: the compressed body is corrupt ({exc})") from None
        except BodyTooLarge:
            raise _too_large(url, self.config.max_body_size) from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{redact_url(url)}: {type(exc).__name__}: {exc or 'connection failed'}") from None
        except (UnicodeError, httpx.InvalidURL) as exc:
            # httpx lets IDNA errors through (a redirect naming a host such as "xn--.example").
            raise FetchError(f"{redact_url(url)}: not a valid host name ({exc})") from None
        return FetchResult(
            status=answer.status,
            body=body,
            etag=etag,
            last_modified=last_modified,
            url=answer.url,
            elapsed_s=time.monotonic() - started,
            content_type=answer.header("Content-Type"),
            moved_to=redact_url(answer.url) if answer.permanent else None,
            warning=(f"ignored its {' and '.join(dropped)} header: not plain ASCII, so it cannot be sent back"
                     if dropped else None),
        )

    @asynccontextmanager
    async def _through_proxy(self, url: str, validators: Validators, hops: _Hops) -> AsyncIterator[_Answer]:
        """The GET made by httpx (its own transport speaks to the proxy, CONNECT tunnels included)."""
        headers = {}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        token = _current_hops.set(hops)
        try:
            async with (self._client or self._open_client()).stream("GET", url, headers=headers) as response:
                yield _Answer(response.status_code, response.reason_phrase, response.headers.get, str(response.url),
                              any(step.status_code in (301, 308) for step in response.history),
                              response.aiter_bytes())
        finally:
            _current_hops.reset(token)

    @asynccontextmanager
    async def _direct(self, target: httpx.URL, validators: Validators, hops: _Hops) -> AsyncIterator[_Answer]:
        """The GET on the lean transport, following redirects as httpx would (same headers on every hop)."""
        transport = self._transport
        if transport is None:
            config = self.config
            transport = self._transport = LeanTransport(
                ssl_context=self._ssl_context, idle_per_origin=config.per_host_concurrency,
                max_idle=config.concurrency)
        conditional = []
        if validators.etag:
            conditional.append((b"If-None-Match", validators.etag.encode()))
        if validators.last_modified:
            conditional.append((b"If-Modified-Since", validators.last_modified.encode()))
        permanent = False
        redirects = 0
        while True:
            await self._check_hop_to(hops, target)
            head, stream = await transport.exchange(
                origin_of(target), b"GET", target.raw_path,
                [(b"Host", target.netloc), *self._headers, *_credentials(target), *conditional], [],
                self._timeouts)
            try:
                headers = _joined(head.headers)
                location = headers.get("location") if head.status_code in _REDIRECTS else None
                if location is None or self.config.max_redirects == 0:
                    yield _Answer(head.status_code, head.reason.decode("latin-1"),
                                  _by_any_case(headers), str(target), permanent,
                                  _decoded(stream, headers.get("content-encoding"), self.config.max_body_size))
                    return
                async for _ in stream:
                    pass  # a redirect's body, bounded by the transport: read so that its connection is kept
            finally:
                await stream.aclose()
            redirects += 1
            if redirects > self.config.max_redirects:
                raise httpx.TooManyRedirects("too many redirects")
            permanent = permanent or head.status_code in (301, 308)
            try:
                target = target.join(location)
            except httpx.InvalidURL as exc:
                raise httpx.RemoteProtocolError(f"invalid URL in the Location header: {exc}") from None

    async def _read_capped(self, answer: _Answer, url: str) -> bytes:
        """The decoded body, aborting as soon as it grows past the cap (a gzip bomb is stopped too)."""
        cap = self.config.max_body_size
        declared = answer.header("Content-Length")
        if declared and declared.isdigit() and not answer.header("Content-Encoding") and int(declared) > cap:
            raise FetchError(
                f"{redact_url(url)}: body of {int(declared)} bytes exceeds http.max_body_size ({cap} bytes)")
        chunks: list[bytes] = []
        size = 0
        async for chunk in answer.chunks:
            size += len(chunk)
            if size > cap:
                raise _too_large(url, cap)
            chunks.append(chunk)
        return b"".join(chunks)


def _credentials(target: httpx.URL) -> list[tuple[bytes, bytes]]:
    """Basic credentials from the URL's user part, as httpx sent them; a redirect's Location carries its own."""
    if not target.userinfo:
        return []
    pair = f"{target.username}:{target.password}".encode()
    return [(b"Authorization", b"Basic " + base64.b64encode(pair))]


def _too_large(url: str, cap: int) -> FetchError:
    return FetchError(f"{redact_url(url)}: body exceeds http.max_body_size ({cap} bytes); stopped reading")


def _joined(headers: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """A response's headers by lower-case name, repeated ones joined with commas (h11 gives lower-case names)."""
    joined: dict[str, str] = {}
    for name, raw in headers:
        key = name.decode("ascii")
        value = raw.decode("ascii") if raw.isascii() else _decoded_text(raw)
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


def _by_any_case(headers: dict[str, str]) -> Callable[[str], str | None]:
    return lambda name: headers.get(name.lower())


def _decoded_text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


async def _decoded(stream: AsyncIterable[bytes], content_encoding: str | None, cap: int) -> AsyncIterator[bytes]:
    decoder = BodyDecoder(content_encoding, cap)
    async for data in stream:
        yield decoder.feed(data)
    yield decoder.finish()


async def _close_later(client: _Closable, delay_s: float) -> None:
    try:
        await asyncio.sleep(delay_s)
    finally:
        await client.aclose()


def _raise_for_status(response: _Answer, url: str) -> None:
    status = response.status
    if status < 300 or status == 304:
        return
    shown = redact_url(url)
    if status < 400:
        target = redact_url(response.header("Location") or "?")
        raise FetchError(f"{shown}: HTTP {status} redirect to {target} not followed (http.max_redirects)",
                         status=status)
    if status == 410:
        raise FetchError(f"{shown}: HTTP 410 Gone: the feed was removed; polling stops until its url changes",
                         status=status)
    retry_after = parse_retry_after(response.header("Retry-After")) if status in (429, 503) else None
    hint = f"; retry after {retry_after.total_seconds():g}s" if retry_after is not None else ""
    raise FetchError(
        f"{shown}: HTTP {status} {response.reason}{hint}",
        status=status,
        retry_after_s=retry_after.total_seconds() if retry_after is not None else None,
    )


def _sendable(value: str | None) -> str | None:
    """`value` when it can go back in a request header (printable ASCII), else None."""
    if value and value.isascii() and value.isprintable():
        return value
    return None


def _validator(response: _Answer, name: str, dropped: list[str]) -> str | None:
    """The response's `name` header when it can be sent back; a value that cannot is named in `dropped`."""
    value = response.header(name)
    if value and _sendable(value) is None:
        dropped.append(name)
        return None
    return value
