"""The lean HTTP/1.1 transport against a scripted server on 127.0.0.1: reuse, stale connections, framing, errors."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from tests.servers.tls import self_signed
from tocsin.fetch.transport import READ_SIZE, LeanTransport

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]
"""Answers one connection (its number given, from 0) until it returns; the connection is then closed."""

OK_304 = b"HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\n\r\n"


def ok(body: bytes, *extra: bytes) -> bytes:
    headers = b"".join(header + b"\r\n" for header in extra)
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), headers, body)


async def read_request(reader: asyncio.StreamReader) -> bytes:
    """One request head (the requests here have no body), or b"" when the client closed."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return b""


class ScriptedServer:
    def __init__(self, script: Script, tls: ssl.SSLContext | None = None) -> None:
        self.script = script
        self.tls = tls
        self.connections = 0
        self.requests: list[bytes] = []
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> ScriptedServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=self.tls)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    @property
    def url(self) -> str:
        assert self._server is not None
        port = self._server.sockets[0].getsockname()[1]
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{port}/feed"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        number = self.connections
        self.connections += 1
        try:
            await self.script(reader, writer, number)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def answer_each(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, response: bytes) -> None:
        """Keep-alive: the same response to every request on the connection until the client closes."""
        while request := await read_request(reader):
            self.requests.append(request)
            writer.write(response)
            await writer.drain()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = LeanTransport(ssl_context=ssl.create_default_context(), idle_per_origin=2, max_idle=8)
    async with httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(2.0, read=0.5)) as client:
        yield client


async def test_keep_alive_reuses_one_connection_for_sequential_requests(client: httpx.AsyncClient) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await server.answer_each(reader, writer, ok(b"<rss/>", b"ETag: \"v1\""))

    async with ScriptedServer(script) as server:
        bodies = [(await client.get(server.url)).content for _ in range(5)]
    assert bodies == [b"<rss/>"] * 5
    assert server.connections == 1 and len(server.requests) == 5
    first = server.requests[0]
    assert first.startswith(b"GET /feed HTTP/1.1\r\n") and b"host: 127.0.0.1:" in first.lower()


async def test_concurrent_requests_open_connections_and_keep_at_most_the_idle_limit(
        client: httpx.AsyncClient) -> None:
    release = asyncio.Event()
    all_four_arrived = asyncio.Event()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        while request := await read_request(reader):
            server.requests.append(request)
            if len(server.requests) == 4:
                all_four_arrived.set()
            await release.wait()
            writer.write(OK_304)
            await writer.drain()

    async with ScriptedServer(script) as server:
        pending = [asyncio.create_task(client.get(server.url)) for _ in range(4)]
        await asyncio.wait_for(all_four_arrived.wait(), 5)
        release.set()
        assert {response.status_code for response in await asyncio.gather(*pending)} == {304}
        # Four connections were needed at once; two stay idle (idle_per_origin=2) and serve the next two requests.
        await asyncio.gather(client.get(server.url), client.get(server.url))
    assert server.connections == 4 and len(server.requests) == 6


async def test_a_connection_the_server_closed_while_idle_is_replaced(client: httpx.AsyncClient) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        request = await read_request(reader)
        server.requests.append(request)
        writer.write(OK_304)  # keep-alive allowed by the headers, but the server closes after one answer
        await writer.drain()

    async with ScriptedServer(script) as server:
        first = await client.get(server.url)
        await asyncio.sleep(0.05)  # the close reaches the client while the connection is idle
        second = await client.get(server.url)
    assert (first.status_code, second.status_code) == (304, 304)
    assert server.connections == 2


async def test_a_reused_connection_closed_before_answering_is_retried_once_on_a_new_one(
        client: httpx.AsyncClient) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        if number == 0:
            server.requests.append(await read_request(reader))
            writer.write(OK_304)
            await writer.drain()
            # Reads the second request, then drops the connection without a byte (a keep-alive race).
            server.requests.append(await read_request(reader))
            return
        await server.answer_each(reader, writer, ok(b"fresh"))

    async with ScriptedServer(script) as server:
        await client.get(server.url)
        second = await client.get(server.url)
    assert second.content == b"fresh"
    assert server.connections == 2 and len(server.requests) == 3


async def test_a_new_connection_closed_without_an_answer_is_an_error_not_a_retry(
        client: httpx.AsyncClient) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        server.requests.append(await read_request(reader))

    async with ScriptedServer(script) as server:
        with pytest.raises(httpx.RemoteProtocolError, match="connection closed before any answer arrived"):
            await client.get(server.url)
    assert server.connections == 1


async def test_chunked_body_and_informational_answers(client: httpx.AsyncClient) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                     b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b"5\r\n<rss>\r\n6\r\n</rss>\r\n0\r\n\r\n")
        await writer.drain()
        await read_request(reader)

    async with ScriptedServer(script) as server:
        response = await client.get(server.url)
    assert response.status_code == 200 and response.content == b"<rss></rss>"


async def test_body_until_close_without_framing(client: httpx.AsyncClient) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n<rss>old server</rss>")

    async with ScriptedServer(script) as server:
        first = await client.get(server.url)
        second = await client.get(server.url)
    assert first.content == second.content == b"<rss>old server</rss>"
    assert server.connections == 2


async def test_a_body_cut_short_is_an_error(client: httpx.AsyncClient) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")

    async with ScriptedServer(script) as server:
        with pytest.raises(httpx.RemoteProtocolError, match="malformed HTTP response"):
            await client.get(server.url)


async def test_garbage_instead_of_a_status_line_is_an_error(client: httpx.AsyncClient) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")
        await writer.drain()
        await read_request(reader)

    async with ScriptedServer(script) as server:
        with pytest.raises(httpx.RemoteProtocolError, match="malformed HTTP response"):
            await client.get(server.url)


async def test_a_server_that_stops_sending_times_out_and_its_connection_is_not_reused(
        client: httpx.AsyncClient) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        await read_request(reader)
        if number == 0:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhal")
            await writer.drain()
            await read_request(reader)  # silence until the client gives up
            return
        writer.write(ok(b"whole body"))
        await writer.drain()
        await read_request(reader)

    async with ScriptedServer(script) as server:
        with pytest.raises(httpx.ReadTimeout):
            await client.get(server.url)
        assert (await client.get(server.url)).content == b"whole body"
    assert server.connections == 2


async def test_refused_connection_and_unsupported_scheme(client: httpx.AsyncClient) -> None:
    async with ScriptedServer(lambda reader, writer, number: read_request(reader)) as server:
        closed_port_url = server.url
    with pytest.raises(httpx.ConnectError):
        await client.get(closed_port_url)
    with pytest.raises(httpx.UnsupportedProtocol):
        await client.get("ftp://127.0.0.1/feed")


async def test_a_post_body_arrives_whole(client: httpx.AsyncClient) -> None:
    received: list[bytes] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        head = await read_request(reader)
        length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(
            b"content-length")))
        received.append(await reader.readexactly(length))
        writer.write(ok(b"", b"Connection: close"))

    async with ScriptedServer(script) as server:
        response = await client.post(server.url, content=b'{"alert": 1}')
    assert response.status_code == 200 and received == [b'{"alert": 1}']


async def test_https_with_a_trusted_certificate_and_refusal_of_an_untrusted_one(tmp_path: Path) -> None:
    server_context, certificate = self_signed(tmp_path)

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await server.answer_each(reader, writer, ok(b"secure"))

    trusting = ssl.create_default_context(cafile=str(certificate))
    async with ScriptedServer(script, tls=server_context) as server:
        trusting_transport = LeanTransport(ssl_context=trusting, idle_per_origin=1, max_idle=1)
        async with httpx.AsyncClient(transport=trusting_transport) as client:
            assert [(await client.get(server.url)).content for _ in range(2)] == [b"secure", b"secure"]
        untrusting = LeanTransport(ssl_context=ssl.create_default_context(), idle_per_origin=1, max_idle=1)
        async with httpx.AsyncClient(transport=untrusting) as client:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await client.get(server.url)
    # The trusted client reused its connection; the untrusted one never finished the handshake.
    assert server.connections == 1


async def test_idle_connections_past_their_keep_alive_are_closed_by_the_next_request() -> None:
    closed_by_client = asyncio.Event()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await server.answer_each(reader, writer, OK_304)
        closed_by_client.set()  # answer_each returns when the client closes the connection

    async def other(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await other_server.answer_each(reader, writer, OK_304)

    transport = LeanTransport(ssl_context=ssl.create_default_context(), idle_per_origin=2, max_idle=8,
                              keepalive_s=0.05)
    async with (httpx.AsyncClient(transport=transport) as client, ScriptedServer(script) as server,
                ScriptedServer(other) as other_server):
        await client.get(server.url)
        await asyncio.sleep(0.1)
        assert not closed_by_client.is_set()  # idle, kept until a request comes by
        await client.get(other_server.url)  # another host's request sweeps the expired connection
        await asyncio.wait_for(closed_by_client.wait(), 5)


JUNK = b"<rss>a body a 304 must not have</rss>"


@pytest.mark.parametrize("junk_with_the_answer", [True, False], ids=["with the answer", "while idle"])
async def test_bytes_sent_unasked_retire_the_connection(client: httpx.AsyncClient, junk_with_the_answer: bool) -> None:
    answered = asyncio.Event()

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        if number == 0:
            await read_request(reader)
            writer.write(OK_304 + (JUNK if junk_with_the_answer else b""))
            await writer.drain()
            await answered.wait()
            writer.write(b"" if junk_with_the_answer else JUNK)
            await writer.drain()
            # A client that reused this connection would read the junk as (the start of) this answer.
            await server.answer_each(reader, writer, ok(b"reused"))
            return
        await server.answer_each(reader, writer, ok(b"fresh"))

    async with ScriptedServer(script) as server:
        assert (await client.get(server.url)).status_code == 304
        answered.set()
        await asyncio.sleep(0.05)
        assert (await client.get(server.url)).content == b"fresh"
    assert server.connections == 2


async def test_idle_connections_are_capped_in_all_and_the_longest_idle_makes_room() -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await answer_304s(reader, writer)

    async def answer_304s(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await read_request(reader):
            writer.write(OK_304)
            await writer.drain()

    transport = LeanTransport(ssl_context=ssl.create_default_context(), idle_per_origin=2, max_idle=2)
    async with (httpx.AsyncClient(transport=transport) as client, ScriptedServer(script) as once_a,
                ScriptedServer(script) as once_b, ScriptedServer(script) as busy):
        # Two hosts polled once fill the cap; a host polled again and again still keeps its connection warm.
        for url in (once_a.url, once_b.url, busy.url, busy.url, busy.url, once_b.url):
            await client.get(url)
    assert (once_a.connections, once_b.connections, busy.connections) == (1, 1, 1)


async def test_a_redirect_with_a_huge_body_is_refused_not_read_whole(client: httpx.AsyncClient) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        await read_request(reader)
        body = b"x" * (4 * 1024 * 1024)
        writer.write(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
        await writer.drain()

    async with ScriptedServer(script) as server:
        with pytest.raises(httpx.RemoteProtocolError, match="redirect's body is larger than"):
            await client.get(server.url, follow_redirects=True)


async def test_bytes_buffered_past_a_response_retire_the_connection(client: httpx.AsyncClient) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        if number == 0:
            await read_request(reader)
            # The answer fills one whole read of the transport; an unasked answer follows in the same write.
            head = b"HTTP/1.1 200 OK\r\nContent-Length: %06d\r\n\r\n"
            size = READ_SIZE - len(head % 0)
            writer.write(head % size + b"a" * size + ok(b"stale"))
            await writer.drain()
            await server.answer_each(reader, writer, ok(b"reused"))
            return
        await server.answer_each(reader, writer, ok(b"fresh"))

    async with ScriptedServer(script) as server:
        assert len((await client.get(server.url)).content) > 60_000
        await asyncio.sleep(0.05)
        assert (await client.get(server.url)).content == b"fresh"
    assert server.connections == 2


async def test_a_close_after_an_informational_answer_is_not_retried(client: httpx.AsyncClient) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, _: int) -> None:
        server.requests.append(await read_request(reader))
        writer.write(OK_304)
        server.requests.append(await read_request(reader))
        writer.write(b"HTTP/1.1 102 Processing\r\n\r\n")  # then the server goes away mid-answer

    async with ScriptedServer(script) as server:
        await client.get(server.url)
        with pytest.raises(httpx.RemoteProtocolError):
            await client.get(server.url)
    assert server.connections == 1 and len(server.requests) == 2
