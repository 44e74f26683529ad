"""Feeds to poll, and how to poll them."""

from __future__ import annotations

from datetime import timedelta
from ipaddress import IPv4Network, IPv6Network, ip_network
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from tocsin.config.types import ByteSize, Duration, StrictModel


class FeedConfig(StrictModel):
    name: str = Field(min_length=1)
    url: str
    interval: Duration | None = None
    """Overrides polling.interval for this feed."""
    tags: tuple[str, ...] = ()
    language: str | None = None
    """Used when the feed does not declare one; rules can be scoped by language."""
    enabled: bool = True
    backfill: bool = False
    """Pass on the items present at the first successful fetch (normally they are recorded as seen, silently)."""
    allow_internal_redirects: bool = False
    """Follow this feed's redirects into http.internal_networks even though the feed itself is outside them."""

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f'"{url}" is not an http(s) URL')
        return url


class PollingConfig(StrictModel):
    interval: Duration = timedelta(minutes=10)
    jitter: Duration = timedelta(seconds=30)
    """Each poll starts up to this much later than scheduled, so feeds of one host do not all start at once."""
    backoff_max: Duration = timedelta(hours=6)
    """Longest wait after repeated failures of a feed."""


class HttpConfig(StrictModel):
    connect_timeout: Duration = timedelta(seconds=10)
    read_timeout: Duration = timedelta(seconds=20)
    """Longest silence while waiting for response bytes."""
    total_timeout: Duration = timedelta(seconds=60)
    """Longest time for a whole request, so a server that trickles bytes cannot hold a slot for ever."""
    max_body_size: ByteSize = 15 * 1024 * 1024
    max_redirects: int = Field(default=5, ge=0, le=20)
    concurrency: int = Field(default=64, ge=1, le=1024)
    """Requests in flight at once, over all hosts."""
    per_host_concurrency: int = Field(default=4, ge=1, le=64)
    proxy: str | None = None
    """Send every feed request through this HTTP proxy (http://host:port); proxy variables in the environment
    are not used, so what the daemon does never depends on the shell that started it."""
    user_agent: str | None = None
    """Defaults to tocsin/<version> (+https://github.com/tocsin/tocsin)."""
    internal_networks: tuple[IPv4Network | IPv6Network, ...] = tuple(
        map(ip_network, ("127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16",
                         "100.64.0.0/10", "0.0.0.0/8", "::1/128", "fc00::/7", "fe80::/10", "::ffff:0:0/96"))
    )
    """Addresses a feed outside them may not redirect into (loopback, private, link-local, shared, mapped IPv4):
    a hostile feed must not make the daemon fetch internal pages and pass their text on to receivers."""
