"""Entity bombs served by a real feed server, fetched and parsed as the daemon does (#18 item 1): each is refused,
and the parse workers' peak memory, read from the workers themselves (VmHWM), stays under a bound. Before the
prolog was read by expat, the 5 MB quoted-literal bomb took one worker to 1 GB."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.servers.feed_server import FeedServer, quadratic_bomb, running_server
from tocsin.config.feeds import HttpConfig
from tocsin.errors import ParseError
from tocsin.fetch.client import Fetcher
from tocsin.parse import FeedSource, Parser

PEAK_BOUND = 256 * 2**20
"""A worker holds Python, the parsers and one body (5 MB here); an expanded bomb is gigabytes."""


def hidden_subset_bomb(megabytes: int) -> str:
    """The run's bypass: a quoted system literal holding `<a`, which ended the old text scan before the subset."""
    entity = "x" * (megabytes * 2**20 // 2)
    return (f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "<a" [<!ENTITY a "{entity}">]>'
            f'<rss version="2.0"><channel><title>t</title><item><title>{"&a;" * 2000}</title></item>'
            "</channel></rss>")


def laughs(hiding: str) -> str:
    """The 1 KB billion-laughs variant, behind the same kind of literal."""
    levels = ['<!ENTITY l0 "lol">'] + [f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10)]
    return (f'<?xml version="1.0"?><!DOCTYPE rss {hiding} [{"".join(levels)}]>'
            '<rss version="2.0"><channel><title>&l9;</title></channel></rss>')


BOMBS = {
    "hidden-subset.xml": hidden_subset_bomb(5).encode(),
    "laughs-system.xml": laughs('SYSTEM "<a"').encode(),
    "laughs-public.xml": laughs("PUBLIC '-//x//<rss' '<b'").encode(),
    "quadratic-utf16.xml": quadratic_bomb().encode("utf-16"),
}


@pytest.fixture
def bomb_server(tmp_path: Path) -> Iterator[FeedServer]:
    for name, body in BOMBS.items():
        (tmp_path / name).write_bytes(body)
    yield from running_server(tmp_path)


def peak_memory(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"^VmHWM:\s+(\d+) kB$", status, re.M)
    assert found is not None, status
    return int(found.group(1)) * 1024


async def test_served_entity_bombs_are_refused_within_a_memory_bound(bomb_server: FeedServer) -> None:
    fetcher = Fetcher(HttpConfig())
    parser = Parser(inline_limit=0)  # every body goes to a worker process, as large bodies do
    try:
        for name in BOMBS:
            url = bomb_server.url(f"/file/{name}")
            result = await fetcher.fetch(url)
            assert result.body is not None and len(result.body) == len(BOMBS[name])
            with pytest.raises(ParseError, match="refused"):
                await parser.parse(result.body, FeedSource(name=name, url=url), datetime.now(UTC))
        pool = parser._executor
        assert isinstance(pool, ProcessPoolExecutor)
        peaks = [await asyncio.to_thread(peak_memory, pid) for pid in pool._processes]
        assert peaks and max(peaks) < PEAK_BOUND, peaks
    finally:
        await fetcher.close()
        parser.close()
