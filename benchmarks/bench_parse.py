"""Parsing feeds: the fast expat reader against feedparser on one body (CPU time), the Parser as the daemon uses it
(well-formed bodies inline) against the 2-process pool and the one-thread fallback, the event-loop stall each leaves
while a batch is parsed, the longest inline parse, and what the quadratic entity bomb costs (refused before any
parser).

Bodies are synthetic 50-item RSS 2.0 feeds (about 45 KB, HTML in descriptions), like a busy news desk's feed.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

from benchmarks import Result, median_result, result, standalone
from tocsin.errors import ParseError
from tocsin.parse import FeedSource, Parser, parse_fast, parse_feed, parse_loose
from tocsin.parse.pool import INLINE_LIMIT

NAME = "parse"
ITEMS = 50


def feed_body(index: int, items_count: int = ITEMS) -> bytes:
    items = "".join(
        f"<item><guid>https://news.example.org/{index}/{n}</guid><title>Report {index}-{n}: shelling near the "
        f"border &amp; aid convoys delayed</title><link>https://news.example.org/world/{index}/{n}?utm_source=rss"
        f"</link><description>&lt;p&gt;{'Officials said the situation remained tense after overnight strikes. ' * 8}"
        f"&lt;/p&gt;&lt;p&gt;&lt;a href=\"/more/{n}\"&gt;More&lt;/a&gt;&lt;/p&gt;</description>"
        f"<pubDate>Tue, 10 Jun 2025 {n % 24:02d}:00:00 GMT</pubDate></item>"
        for n in range(items_count)
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


def cpu_ms(parse: Callable[[bytes, FeedSource, datetime], object], body: bytes, runs: int) -> list[float]:
    """CPU milliseconds of each of `runs` parses of one body (after one warm-up parse)."""
    if parse(body, SOURCE, NOW) is None:
        raise RuntimeError(f"{parse.__name__} did not read the benchmark body")
    samples = []
    for _ in range(runs):
        started = time.process_time()
        parse(body, SOURCE, NOW)
        samples.append((time.process_time() - started) * 1000)
    return samples


def largest_inline_body() -> bytes:
    """The biggest body the Parser still reads on the event loop."""
    items = ITEMS
    while len(feed_body(0, items * 2)) <= INLINE_LIMIT:
        items *= 2
    while len(feed_body(0, items + 10)) <= INLINE_LIMIT:
        items += 10
    return feed_body(0, items)


async def batch(parser: Parser, bodies: list[bytes]) -> tuple[float, float, float]:
    """Items per second over the batch, the longest event-loop stall (ms) while it ran, and the CPU time of this
    (the event loop's) process per body in ms."""
    longest = 0.0
    done = asyncio.Event()

    async def probe() -> None:
        nonlocal longest
        while not done.is_set():
            started = time.perf_counter()
            await asyncio.sleep(0.002)
            longest = max(longest, (time.perf_counter() - started - 0.002) * 1000)

    async def item_count(body: bytes) -> int:
        # The items are dropped at once, as the daemon drops them after ingest: 10,000 items kept alive would
        # make the garbage collector's full passes (and the stalls they cause) longer than in the daemon.
        return len((await parser.parse(body, SOURCE, NOW)).items)

    probing = asyncio.create_task(probe())
    started, cpu_started = time.perf_counter(), time.process_time()
    counts = await asyncio.gather(*(item_count(body) for body in bodies))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    done.set()
    await probing
    return sum(counts) / elapsed, longest, cpu * 1000 / len(bodies)


def parser_figures(label: str, parser: Parser, bodies: list[bytes], runs: int, target: str | None) -> list[Result]:
    async def batches() -> list[tuple[float, float, float]]:
        await batch(parser, bodies[:2])  # warm up the workers
        return [await batch(parser, bodies) for _ in range(runs)]

    try:
        measured = asyncio.run(batches())  # one loop: the Parser's locks belong to it
    finally:
        parser.close()
    return [
        median_result(NAME, f"{label}: {len(bodies)} feeds, throughput", [rate for rate, _, _ in measured],
                      "items/s"),
        median_result(NAME, f"{label}: longest loop stall", [stall for _, stall, _ in measured], "ms", target),
        median_result(NAME, f"{label}: event-loop process CPU per body", [cpu for _, _, cpu in measured], "ms"),
    ]


def single_body_figures(bodies: list[bytes], runs: int) -> list[Result]:
    kib = len(bodies[0]) // 1024
    fast = cpu_ms(parse_fast, bodies[0], runs)
    loose = cpu_ms(parse_loose, bodies[0], max(runs // 4, 3))
    big = largest_inline_body()
    return [
        median_result(NAME, f"fast reader, one {kib} KB {ITEMS}-item body (CPU)", fast, "ms", "< 2"),
        result(NAME, "fast reader, items per CPU second", ITEMS / (statistics.median(fast) / 1000), "items/s"),
        median_result(NAME, f"feedparser, one {kib} KB {ITEMS}-item body (CPU)", loose, "ms"),
        result(NAME, "feedparser, items per CPU second", ITEMS / (statistics.median(loose) / 1000), "items/s"),
        result(NAME, "fast reader speed-up over feedparser", statistics.median(loose) / statistics.median(fast), "x"),
        median_result(NAME, f"fast reader, largest inline body ({len(big) // 1024} KB, CPU)",
                      cpu_ms(parse_fast, big, max(runs // 4, 3)), "ms", "<= 10"),
    ]


def run(quick: bool) -> list[Result]:
    feeds, runs = (40, 2) if quick else (200, 3)
    bodies = [feed_body(index) for index in range(feeds)]
    results = single_body_figures(bodies, 5 if quick else 40)
    results += parser_figures("Parser as the daemon runs it (inline)", Parser(), bodies, runs, "<= 10")
    results += parser_figures("pool of 2 processes, every body", Parser(inline_limit=0), bodies, runs, None)
    results += parser_figures("one thread, every body", Parser(use_processes=False, inline_limit=0), bodies, runs,
                              None)
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
