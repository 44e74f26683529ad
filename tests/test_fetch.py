"""The fetcher against a real local server: validators, caps, timeouts, redirects, Retry-After, 410."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from ipaddress import ip_address, ip_network

import pytest

from tests.servers.feed_server import FeedServer
from tocsin import __version__
from tocsin.config.feeds import HttpConfig
from tocsin.errors import FetchError
from tocsin.fetch.client import Fetcher, Validators
from tocsin.urls import redact_url

FAST = HttpConfig(
    connect_timeout=timedelta(seconds=2), read_timeout=timedelta(milliseconds=500),
    total_timeout=timedelta(seconds=5), max_body_size=256 * 1024, max_redirects=3,
)


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    fetcher = Fetcher(FAST)
    yield fetcher
    await fetcher.close()


async def test_etag_round_trip_gives_304_and_keeps_validators(server: FeedServer, fetcher: Fetcher) -> None:
    server.add_feed("a", 3)
    first = await fetcher.fetch(server.url("/feed/a"))
    assert first.status == 200 and first.body and b"a item 2" in first.body
    assert first.etag and first.last_modified
    second = await fetcher.fetch(server.url("/feed/a"), first.validators)
    assert second.status == 304 and second.not_modified and second.body is None
    assert second.etag == first.etag
    assert server.requests_to("/feed/a")[-1]["if-none-match"] == first.etag
    server.add_items("a", 1)
    third = await fetcher.fetch(server.url("/feed/a"), second.validators)
    assert third.status == 200 and third.body and b"a item 3" in third.body


async def test_last_modified_alone_is_enough(server: FeedServer, fetcher: Fetcher) -> None:
    server.add_feed("b", 1)
    first = await fetcher.fetch(server.url("/lastmod/b"))
    assert first.etag is None and first.last_modified
    second = await fetcher.fetch(server.url("/lastmod/b"), Validators(last_modified=first.last_modified))
    assert second.status == 304
    assert server.requests_to("/lastmod/b")[-1]["if-modified-since"] == first.last_modified


async def test_validators_that_cannot_be_sent_back_are_dropped(server: FeedServer, fetcher: Fetcher) -> None:
    server.add_feed("c", 1)
    first = await fetcher.fetch(server.url("/accented/c"))
    assert first.status == 200 and first.body
    assert first.etag is None and first.last_modified is None
    assert first.warning and "ETag and Last-Modified" in first.warning and "not plain ASCII" in first.warning
    # One stored by an older version is not sent: the feed keeps working.
    stored = Validators(etag='"caf\u00e9"', last_modified="Mer, 02 D\u00e9c 2026 07:00:00 GMT")
    again = await fetcher.fetch(server.url("/feed/c"), stored)
    assert again.status == 200 and again.etag and again.warning is None
    sent = server.requests_to("/feed/c")[-1]
    assert "if-none-match" not in sent and "if-modified-since" not in sent


async def test_user_agent_and_compression(server: FeedServer, fetcher: Fetcher) -> None:
    server.add_feed("z", 2)
    result = await fetcher.fetch(server.url("/gzip/z"))
    assert result.body is not None and result.body.startswith(b"<?xml")
    headers = server.requests_to("/gzip/z")[-1]
    assert headers["user-agent"] == f"tocsin/{__version__} (+https://github.com/tocsin/tocsin)"
    assert "gzip" in headers["accept-encoding"]


@pytest.mark.parametrize(("code", "retry_after"), [(429, 120.0), (503, 120.0), (500, None), (404, None)])
async def test_error_statuses(server: FeedServer, fetcher: Fetcher, code: int, retry_after: float | None) -> None:
    with pytest.raises(FetchError, match=f"HTTP {code}") as caught:
        await fetcher.fetch(server.url(f"/status/{code}"))
    assert caught.value.status == code
    assert caught.value.retry_after_s == retry_after


async def test_gone(server: FeedServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="410 Gone") as caught:
        await fetcher.fetch(server.url("/status/410"))
    assert caught.value.status == 410


async def test_slow_server_times_out(server: FeedServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="read_timeout"):
        await fetcher.fetch(server.url("/slow"))


async def test_body_cap_while_streaming(server: FeedServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="max_body_size"):
        await fetcher.fetch(server.url("/big"))
    # The server streams 2 MiB in chunks and learns the client left; the cap is on bytes received, not announced.


async def test_body_cap_applies_to_decoded_bytes(server: FeedServer, fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match="max_body_size"):
        await fetcher.fetch(server.url("/gzip-bomb"))


async def test_redirects_followed_and_loops_refused(server: FeedServer, fetcher: Fetcher) -> None:
    server.add_feed("r", 1)
    result = await fetcher.fetch(server.url("/redirect/r"))
    assert result.url == server.url("/feed/r") and result.moved_to is None
    moved = await fetcher.fetch(server.url("/moved/r"))
    assert moved.moved_to == server.url("/feed/r")
    with pytest.raises(FetchError, match="redirect loop"):
        await fetcher.fetch(server.url("/loop"))


async def test_redirects_into_internal_networks_are_refused_unless_the_feed_allows_them(server: FeedServer) -> None:
    # Every test server is on loopback, so here 127.0.0.2 alone plays the internal network and 127.0.0.1 the
    # public internet; the default networks include all of 127.0.0.0/8.
    inside = FeedServer(host="127.0.0.2").start()
    try:
        inside.add_feed("secret", 1)
        fetcher = Fetcher(FAST.model_copy(update={"internal_networks": (ip_network("127.0.0.2/32"),)}))
        hostile = server.url("/to/" + inside.url("/feed/secret"))
        try:
            with pytest.raises(FetchError, match=r"refused to follow a redirect to an internal address "
                                                 r"\(http://127\.0\.0\.2:\d+/feed/secret\)"):
                await fetcher.fetch(hostile)
            assert inside.requests_to("/feed/secret") == []
            allowed = await fetcher.fetch(hostile, allow_internal_redirects=True)
            assert allowed.body and b"secret item 0" in allowed.body
            # A feed that is itself internal may redirect inward: the operator chose that address.
            assert (await fetcher.fetch(inside.url("/redirect/secret"))).status == 200
        finally:
            await fetcher.close()
    finally:
        inside.close()


def test_the_default_internal_networks_cover_loopback_private_and_link_local() -> None:
    networks = HttpConfig().internal_networks
    for address in ("127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "::1", "fe80::1"):
        assert any(ip_address(address) in network for network in networks), address
    assert not any(ip_address("93.184.216.34") in network for network in networks)


async def test_connection_refused_is_a_fetch_error(fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match=r"127\.0\.0\.1:9"):
        await fetcher.fetch("http://127.0.0.1:9/feed")


async def test_per_host_limit_bounds_requests_in_flight(server: FeedServer) -> None:
    fetcher = Fetcher(FAST.model_copy(update={"per_host_concurrency": 2}))
    server.slow_seconds = 0.3
    try:
        results = await asyncio.gather(
            *(fetcher.fetch(server.url("/slow")) for _ in range(4)), return_exceptions=True
        )
    finally:
        await fetcher.close()
    assert all(not isinstance(result, BaseException) for result in results)
    assert server.slow_max_in_flight == 2


async def test_requests_go_through_the_configured_proxy(server: FeedServer) -> None:
    server.add_feed("p", 1)
    fetcher = Fetcher(FAST.model_copy(update={"proxy": server.base}))
    try:
        result = await fetcher.fetch("http://feeds.example.invalid/feed/p")
    finally:
        await fetcher.close()
    assert result.status == 200 and result.body and b"p item 0" in result.body
    assert server.proxied == ["http://feeds.example.invalid/feed/p"]


async def test_reconfigure_keeps_working_and_closes_the_old_transport(server: FeedServer) -> None:
    server.add_feed("c", 1)
    # The old transport is closed once the old total_timeout has passed; 1 s leaves a loaded machine room
    # for the first fetch, and the wait for the close is bounded at three times that.
    fetcher = Fetcher(FAST.model_copy(update={"total_timeout": timedelta(seconds=1)}))
    try:
        await fetcher.fetch(server.url("/feed/c"))
        old_transport = fetcher._transport
        fetcher.configure(FAST.model_copy(update={"user_agent": "custom/1"}))
        await fetcher.fetch(server.url("/feed/c"))
        assert server.requests_to("/feed/c")[-1]["user-agent"] == "custom/1"
        assert old_transport is not None
        for _ in range(30):
            if old_transport.is_closed:
                break
            await asyncio.sleep(0.1)
        assert old_transport.is_closed
    finally:
        await fetcher.close()


def test_redact_url_strips_credentials() -> None:
    assert redact_url("https://user:hunter2@example.org/feed?x=1") == "https://example.org/feed?x=1"
    assert redact_url("https://example.org:8443/feed") == "https://example.org:8443/feed"


async def test_errors_never_show_credentials(server: FeedServer, fetcher: Fetcher) -> None:
    url = server.url("/status/500").replace("http://", "http://user:hunter2@")
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url)
    assert "hunter2" not in str(caught.value)


async def test_a_host_name_idna_refuses_is_a_fetch_error(fetcher: Fetcher) -> None:
    with pytest.raises(FetchError, match=r"http://xn--\.example/feed: not a valid host name"):
        await fetcher.fetch("http://xn--.example/feed")
