"""Fetching feeds over HTTP: conditional GET, a size cap while streaming, redirects, Retry-After, concurrency limits.

One httpx client over the lean HTTP/1.1 transport (fetch/transport.py; httpx's own transport when a proxy is
set), with in-flight requests bounded globally and per host by semaphores.

Redirect policy: a feed whose host is outside http.internal_networks may not redirect into them (checked on each
hop, by resolving its host, in an httpx request hook) unless the feed sets allow_internal_redirects. A feed
configured on an internal address may redirect anywhere: the operator chose it. The check resolves the name
before httpx does, so a DNS answer that changes between the two is not caught; a firewall rule is the complete
fix where that matters.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from tocsin import __version__
from tocsin.backoff import parse_retry_after
from tocsin.config.feeds import HttpConfig
from tocsin.errors import FetchError
from tocsin.fetch.transport import LeanTransport
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


class Fetcher:
    """One per service. `fetch` is safe to call from many tasks at once; `close` releases every connection."""

    def __init__(self, config: HttpConfig) -> None:
        # Made with the first client: loading the system's CA store is a large part of a feedless run's start-up.
        self._ssl: ssl.SSLContext | None = None
        self._client: httpx.AsyncClient | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        self._host_limits: dict[str, asyncio.Semaphore] = {}
        self.config = config
        self.configure(config)

    def configure(self, config: HttpConfig) -> None:
        """Apply new HTTP settings (call from the event loop); requests already running finish on the clients
        built for the old settings, which are closed after the old total_timeout."""
        if self._client is not None:
            retiring = asyncio.get_running_loop().create_task(
                _close_later(self._client, self.config.total_timeout.total_seconds())
            )
            self._retiring.add(retiring)
            retiring.add_done_callback(self._retiring.discard)
        self.config = config
        self._global_limit = asyncio.Semaphore(config.concurrency)
        self._host_limits = {}
        self._client = None

    async def close(self) -> None:
        client, self._client = self._client, None
        for retiring in list(self._retiring):
            retiring.cancel()  # closes its client now
        await asyncio.gather(*self._retiring, return_exceptions=True)
        if client is not None:
            await client.aclose()

    async def fetch(
        self, url: str, validators: Validators = Validators(), *, allow_internal_redirects: bool = False
    ) -> FetchResult:
        """GET the feed. Raises FetchError (with `status` and `retry_after_s` when the server gave them)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        host_limit = self._host_limits.get(host)
        if host_limit is None:
            host_limit = self._host_limits[host] = asyncio.Semaphore(self.config.per_host_concurrency)
        async with self._global_limit, host_limit:
            try:
                hops = _current_hops.set(_Hops(host, allow_internal_redirects))
                async with asyncio.timeout(self.config.total_timeout.total_seconds()):
                    return await self._get(self._client or self._open_client(), url, validators)
            except TimeoutError:
                raise FetchError(
                    f"{redact_url(url)}: no complete response within {self.config.total_timeout.total_seconds():g}s "
                    "(http.total_timeout)"
                ) from None
            finally:
                _current_hops.reset(hops)

    def _open_client(self) -> httpx.AsyncClient:
        """The client for the current settings, made on first use (it must be made inside the event loop)."""
        config = self.config
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        # Through a proxy, httpx's own transport speaks to it (CONNECT tunnels included).
        transport = None if config.proxy else LeanTransport(
            ssl_context=self._ssl, idle_per_origin=config.per_host_concurrency, max_idle=config.concurrency
        )
        self._client = httpx.AsyncClient(
            verify=self._ssl,
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
            transport=transport,
            event_hooks={"request": [self._check_hop]},
            trust_env=False,
        )
        return self._client

    async def _check_hop(self, request: httpx.Request) -> None:
        """Raise _InternalRedirect when this request is a redirect the policy refuses (see the module docstring)."""
        hops = _current_hops.get()
        if hops is None:
            return
        hops.seen += 1
        if hops.seen == 1 or hops.allow_internal or not await self._is_internal(request.url.host):
            return
        if hops.feed_is_internal is None:
            hops.feed_is_internal = await self._is_internal(hops.feed_host)
        if not hops.feed_is_internal:
            raise _InternalRedirect(str(request.url))

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

    async def _get(self, client: httpx.AsyncClient, url: str, validators: Validators) -> FetchResult:
        shown = redact_url(url)
        # A validator stored before it was checked (older versions kept any) is not sent: one bad byte would fail
        # every request to the feed, across restarts.
        validators = Validators(_sendable(validators.etag), _sendable(validators.last_modified))
        headers = {}
        if validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        dropped: list[str] = []
        started = time.monotonic()
        try:
            async with client.stream("GET", url, headers=headers) as response:
                _raise_for_status(response, shown)
                final_url = str(response.url)
                permanent = any(step.status_code in (301, 308) for step in response.history)
                etag = _validator(response, "ETag", dropped) or validators.etag
                last_modified = _validator(response, "Last-Modified", dropped) or validators.last_modified
                if response.status_code == 304:
                    # Reading the (empty) body returns the connection to the pool; closing an unread one drops it.
                    await response.aread()
                    body = None
                else:
                    body = await self._read_capped(response, shown)
        except _InternalRedirect as refused:
            raise FetchError(
                f"{shown}: refused to follow a redirect to an internal address ({redact_url(refused.target)}); set "
                "allow_internal_redirects = true on the feed if that is intended"
            ) from None
        except httpx.TooManyRedirects:
            raise FetchError(
                f"{shown}: redirect loop or more than {self.config.max_redirects} redirects (http.max_redirects)"
            ) from None
        except httpx.ConnectTimeout:
            raise FetchError(
                f"{shown}: connect timed out after {self.config.connect_timeout.total_seconds():g}s"
            ) from None
        except httpx.TimeoutException:
            raise FetchError(
                f"{shown}: the server stopped sending for {self.config.read_timeout.total_seconds():g}s "
                "(http.read_timeout)"
            ) from None
        except httpx.ConnectError as exc:
            raise FetchError(f"{shown}: cannot connect ({exc or 'connection refused'})") from None
        except httpx.UnsupportedProtocol as exc:
            raise FetchError(f"{shown}: redirected to an unsupported URL ({exc})") from None
        except httpx.DecodingError as exc:
            raise FetchError(f"{shown}: the compressed body is corrupt ({exc})") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"{shown}: {type(exc).__name__}: {exc or 'connection failed'}") from None
        except UnicodeError as exc:
            # httpx lets IDNA errors through (a feed, or a redirect, naming a host such as "xn--.example").
            raise FetchError(f"{shown}: not a valid host name ({exc})") from None
        return FetchResult(
            status=response.status_code,
            body=body,
            etag=etag,
            last_modified=last_modified,
            url=final_url,
            elapsed_s=time.monotonic() - started,
            content_type=response.headers.get("Content-Type"),
            moved_to=redact_url(final_url) if permanent else None,
            warning=(f"ignored its {' and '.join(dropped)} header: not plain ASCII, so it cannot be sent back"
                     if dropped else None),
        )

    async def _read_capped(self, response: httpx.Response, shown: str) -> bytes:
        """The decoded body, aborting as soon as it grows past the cap (a gzip bomb is stopped too)."""
        cap = self.config.max_body_size
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and not response.headers.get("Content-Encoding") and int(declared) > cap:
            raise FetchError(f"{shown}: body of {int(declared)} bytes exceeds http.max_body_size ({cap} bytes)")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > cap:
                raise FetchError(f"{shown}: body exceeds http.max_body_size ({cap} bytes); stopped reading")
            chunks.append(chunk)
        return b"".join(chunks)


async def _close_later(client: httpx.AsyncClient, delay_s: float) -> None:
    try:
        await asyncio.sleep(delay_s)
    finally:
        await client.aclose()


def _raise_for_status(response: httpx.Response, shown: str) -> None:
    status = response.status_code
    if 300 <= status < 400 and status != 304:
        target = redact_url(response.headers.get("Location", "?"))
        raise FetchError(f"{shown}: HTTP {status} redirect to {target} not followed (http.max_redirects)",
                         status=status)
    if status < 400:
        return
    if status == 410:
        raise FetchError(f"{shown}: HTTP 410 Gone: the feed was removed; polling stops until its url changes",
                         status=status)
    retry_after = parse_retry_after(response.headers.get("Retry-After")) if status in (429, 503) else None
    hint = f"; retry after {retry_after.total_seconds():g}s" if retry_after is not None else ""
    raise FetchError(
        f"{shown}: HTTP {status} {response.reason_phrase}{hint}",
        status=status,
        retry_after_s=retry_after.total_seconds() if retry_after is not None else None,
    )


def _sendable(value: str | None) -> str | None:
    """`value` when it can go back in a request header (printable ASCII), else None."""
    if value and value.isascii() and value.isprintable():
        return value
    return None


def _validator(response: httpx.Response, name: str, dropped: list[str]) -> str | None:
    """The response's `name` header when it can be sent back; a value that cannot is named in `dropped`."""
    value: str | None = response.headers.get(name)
    if value and _sendable(value) is None:
        dropped.append(name)
        return None
    return value
