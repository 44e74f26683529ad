"""Parsing feeds: parse_feed alone, the 2-process Parser pool against its one-thread fallback, the event-loop stall
each leaves while a batch is parsed, and what the quadratic entity bomb costs (it is refused before feedparser).

Bodies are synthetic 50-item RSS 2.0 feeds (about 45 KB, HTML in descriptions), like a busy news desk's feed.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from datetime import UTC, datetime

from benchmarks import Result, median_result, result, standalone
from daemon.errors import ParseError
from daemon.parse import FeedSource, Parser, parse_feed

NAME = "parse"
ITEMS = 50


def feed_body(index: int) -> bytes:
    items = "".join(
        f"<item><guid>https://news.example.org/{index}/{n}</guid><title>Report {index}-{n}: shelling near the "
        f"border &amp; aid convoys delayed</title><link>https://news.example.org/world/{index}/{n}?utm_source=rss"
        f"</link><description>&lt;p&gt;{'Officials said the situation remained tense after overnight strikes. ' * 8}"
        f"&lt;/p&gt;&lt;p&gt;&lt;a href=\"/more/{n}\"&gt;More&lt;/a&gt;&lt;/p&gt;</description>"
        f"<pubDate>Tue, 10 Jun 2025 {n % 24:02d}:00:00 GMT</pubDate></item>"
        for n in range(ITEMS)
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Desk {index}</title>'
        f"<link>https://news.example.org/</link><language>en</language>{items}</channel></rss>"
    ).encode()


def quadratic_bomb() -> bytes:
    entity = "A" * 50_000
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY big "{entity}">]><rss version="2.0"><channel>'
        f"<title>t</title><item><title>x</title><description>{'&big;' * 30_000}</description></item></channel></rss>"
    ).encode()


SOURCE = FeedSource("bench", "https://news.example.org/rss.xml")
NOW = datetime(2025, 6, 10, 12, tzinfo=UTC)


def single_feed_ms(body: bytes, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        parse_feed(body, SOURCE, NOW)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def batch(parser: Parser, bodies: list[bytes]) -> tuple[float, float]:
    """Items per second over the batch, and the longest event-loop stall (ms) while it ran."""
    longest = 0.0
    done = asyncio.Event()

    async def probe() -> None:
        nonlocal longest
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.002)
            longest = max(longest, (time.perf_counter() - started - 0.002) * 1000)

    probing = asyncio.create_task(probe())
    started = time.perf_counter()
    parsed = await asyncio.gather(*(parser.parse(body, SOURCE, NOW) for body in bodies))
    elapsed = time.perf_counter() - started
    done.set()
    await probing
    return sum(len(feed.items) for feed in parsed) / elapsed, longest


def pool_figures(label: str, use_processes: bool, bodies: list[bytes], runs: int) -> list[Result]:
    parser = Parser(use_processes=use_processes)
    try:
        asyncio.run(batch(parser, bodies[:2]))  # warm up the workers
        measured = [asyncio.run(batch(parser, bodies)) for _ in range(runs)]
    finally:
        parser.close()
    return [
        median_result(NAME, f"{label}: {len(bodies)} feeds, throughput", [rate for rate, _ in measured], "items/s"),
        median_result(NAME, f"{label}: longest loop stall", [stall for _, stall in measured], "ms",
                      "<= 50" if use_processes else None),
    ]


def run(quick: bool) -> list[Result]:
    feeds, runs = (40, 2) if quick else (200, 3)
    bodies = [feed_body(index) for index in range(feeds)]
    single = single_feed_ms(bodies[0], 5 if quick else 20)
    results = [
        median_result(NAME, f"parse_feed, one {len(bodies[0]) // 1024} KB {ITEMS}-item feed", single, "ms"),
        result(NAME, "parse_feed, items per second (one core)", ITEMS / (statistics.median(single) / 1000),
               "items/s"),
    ]
    results += pool_figures("pool of 2 processes", True, bodies, runs)
    results += pool_figures("one thread (fallback)", False, bodies, runs)
    bomb = quadratic_bomb()
    refusals = []
    for _ in range(5):
        started = time.perf_counter()
        try:
            parse_feed(bomb, SOURCE, NOW)
        except ParseError:
            refusals.append((time.perf_counter() - started) * 1000)
    if len(refusals) != 5:
        raise RuntimeError("the entity bomb was not refused")
    results.append(median_result(NAME, f"entity bomb ({len(bomb) // 1024} KB) refused in", refusals, "ms", "<= 10"))
    return results


if __name__ == "__main__":
    standalone(run)
