"""Parsing: hostile documents refused before feedparser, non-feeds named, items normalized."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.servers.feed_server import quadratic_bomb
from tocsin.errors import ParseError
from tocsin.parse import FeedSource, Parser, absolute_link, parse_feed, plain_text

FETCHED = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
SOURCE = FeedSource(name="wire", url="https://news.example.org/world/rss.xml", tags=("world",), language="fr")


def rss(items: str, channel_extra: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>{channel_extra}'
        f"{items}</channel></rss>"
    ).encode()


ILL_FORMED = rss("<item><title>Broken &nbsp; entity</title><link>/a</link></item>")


def test_quadratic_entity_bomb_is_refused_before_feedparser() -> None:
    with pytest.raises(ParseError, match=r'feed "wire" .*refused: .*DTD internal subset'):
        parse_feed(quadratic_bomb().encode(), SOURCE, FETCHED)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_bomb_refused_in_wide_encodings(encoding: str) -> None:
    with pytest.raises(ParseError, match="refused"):
        parse_feed(quadratic_bomb(entity_kib=1, references=10).encode(encoding), SOURCE, FETCHED)


def test_bomb_behind_long_comment_is_refused() -> None:
    body = ("<!-- " + "padding " * 20_000 + " -->" + quadratic_bomb(1, 10)).encode()
    with pytest.raises(ParseError, match="refused"):
        parse_feed(body, SOURCE, FETCHED)


def test_external_doctype_without_subset_is_fine() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
        b'"http://my.netscape.com/publish/formats/rss-0.91.dtd"><rss version="0.91"><channel><title>t</title>'
        b"<item><title>Hello</title><link>http://example.org/a</link></item></channel></rss>"
    )
    assert [item.title for item in parse_feed(body, SOURCE, FETCHED).items] == ["Hello"]


def test_entity_text_inside_items_is_not_a_declaration() -> None:
    body = rss("<item><title>About &lt;!ENTITY&gt;</title><link>/x</link><description><![CDATA[<!ENTITY x>]]>"
               "</description></item>")
    assert parse_feed(body, SOURCE, FETCHED).items[0].title == "About <!ENTITY>"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "the body is empty"),
        (b"   \n ", "the body is empty"),
        (b"<!DOCTYPE html><html><body>hi</body></html>", "looks like an HTML page"),
        (b"[1, 2]", "looks like JSON"),
        (b"plain words, no markup at all", "not a feed"),
    ],
)
def test_non_feeds_are_clear_errors(body: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_feed(body, SOURCE, FETCHED)


def test_normalization() -> None:
    body = rss(
        '<item><guid isPermaLink="false">g-1</guid><title>Quake &amp; <b>tsunami</b></title>'
        "<link>/world/quake?utm_source=rss</link>"
        "<description>&lt;p&gt;Many   &lt;i&gt;hurt&lt;/i&gt;&lt;/p&gt;&lt;script&gt;evil()&lt;/script&gt;"
        "&lt;p&gt;More&amp;nbsp;news&lt;/p&gt;</description>"
        "<pubDate>Tue, 10 Jun 2025 06:00:00 +0200</pubDate></item>"
        "<item><title>No guid</title><link>https://other.example.org/b#frag</link></item>"
        "<item><title>Only text</title><description>body</description>"
        "<pubDate>Tue, 10 Jun 2030 06:00:00 GMT</pubDate></item>"
        "<item><title>Bad link</title><link>javascript:alert(1)</link></item>",
        "<language>en-GB</language>",
    )
    parsed = parse_feed(body, SOURCE, FETCHED)
    first, second, third, fourth = parsed.items
    assert first.id == "g-1"
    assert first.title == "Quake & tsunami"
    assert first.summary == "Many hurt More news"  # no-break space collapsed too
    assert first.link == "https://news.example.org/world/quake?utm_source=rss"
    assert first.published == datetime(2025, 6, 10, 4, 0, tzinfo=UTC)
    assert first.feed == "wire" and first.feed_tags == ("world",)
    assert first.language == "en-gb"
    assert second.id == "https://other.example.org/b"
    assert second.published == FETCHED
    assert third.id.startswith("hash:") and third.link == ""
    assert third.published == FETCHED  # four years ahead: a broken clock
    assert fourth.link == ""
    assert parsed.warning is None


def test_language_falls_back_to_config() -> None:
    parsed = parse_feed(rss("<item><title>x</title><link>/x</link></item>"), SOURCE, FETCHED)
    assert parsed.items[0].language == "fr"


def test_id_is_stable_across_fetches() -> None:
    body = rss("<item><title>t</title><description>d</description></item>")
    later = FETCHED + timedelta(hours=1)
    assert parse_feed(body, SOURCE, FETCHED).items[0].id == parse_feed(body, SOURCE, later).items[0].id


def test_bozo_feed_with_entries_is_used_with_a_warning() -> None:
    body = rss("<item><title>Broken &nbsp; entity</title><link>/a</link></item><item><title>Two</title>")
    parsed = parse_feed(body, SOURCE, FETCHED)
    assert [item.title for item in parsed.items][:1] == ["Broken entity"]
    assert parsed.warning is not None and "ill-formed" in parsed.warning


def test_summary_is_capped() -> None:
    body = rss(f"<item><title>t</title><description>{'word ' * 10_000}</description></item>")
    assert len(parse_feed(body, SOURCE, FETCHED).items[0].summary) == 20_000


def test_plain_text_and_links() -> None:
    assert plain_text("a<br>b&#233;<style>x{}</style>  c", 100) == "a bé c"
    assert absolute_link("../x", "https://e.org/a/b/feed") == "https://e.org/a/x"
    assert absolute_link("mailto:a@b.c", "https://e.org/") == ""


async def test_parser_reads_well_formed_bodies_inline_without_a_pool() -> None:
    parser = Parser()
    try:
        parsed = await parser.parse(rss("<item><title>x</title><link>/x</link></item>"), SOURCE, FETCHED)
        assert parsed.items[0].link == "https://news.example.org/x"
        assert not parser.uses_processes  # no pool was needed
        with pytest.raises(ParseError, match="refused"):
            await parser.parse(quadratic_bomb(1, 10).encode(), SOURCE, FETCHED)
    finally:
        parser.close()


async def test_inline_parses_take_turns_with_the_rest_of_the_loop() -> None:
    parser = Parser()
    body = rss("<item><title>x</title><link>/x</link></item>")
    ticks = 0
    running = True

    async def ticker() -> None:
        nonlocal ticks
        while running:
            ticks += 1
            await asyncio.sleep(0)

    finished_at: list[int] = []

    async def parse_one() -> None:
        await parser.parse(body, SOURCE, FETCHED)
        finished_at.append(ticks)

    ticking = asyncio.create_task(ticker())
    await asyncio.gather(*(parse_one() for _ in range(5)))
    running = False
    await ticking
    assert len(set(finished_at)) == 5  # each parse in its own loop iteration, other callbacks ran in between


async def test_parser_pool_parses_off_the_loop() -> None:
    parser = Parser()
    try:
        parsed = await parser.parse(ILL_FORMED, SOURCE, FETCHED)  # feedparser's work: in the pool
        assert parsed.items[0].title == "Broken entity" and parsed.warning is not None
        assert parser.uses_processes
    finally:
        parser.close()


async def test_large_bodies_go_to_the_pool_even_when_well_formed() -> None:
    parser = Parser(inline_limit=100)
    try:
        parsed = await parser.parse(rss("<item><title>x</title><link>/x</link></item>"), SOURCE, FETCHED)
        assert parsed.items[0].title == "x"
        assert parser.uses_processes
        with pytest.raises(ParseError, match="refused"):
            await parser.parse(quadratic_bomb(1, 10).encode(), SOURCE, FETCHED)
    finally:
        parser.close()


async def test_thread_fallback_parses_too() -> None:
    parser = Parser(use_processes=False)
    try:
        parsed = await parser.parse(ILL_FORMED, SOURCE, FETCHED)
        assert parsed.items[0].title == "Broken entity"
        assert not parser.uses_processes
    finally:
        parser.close()


async def test_a_dead_parser_process_costs_one_feed_not_the_daemon() -> None:
    parser = Parser(inline_limit=0)
    body = rss("<item><title>x</title><link>/x</link></item>")
    try:
        await parser.parse(body, SOURCE, FETCHED)
        pool = parser._executor
        assert isinstance(pool, ProcessPoolExecutor)
        for process in list(pool._processes.values()):
            process.kill()
        with pytest.raises(ParseError, match="parser process died"):
            await parser.parse(body, SOURCE, FETCHED)
        assert parser.uses_processes
        assert (await parser.parse(body, SOURCE, FETCHED)).items[0].title == "x"
    finally:
        parser.close()


@pytest.mark.parametrize("make_ill_formed", [False, True], ids=["fast reader", "feedparser"])
def test_entries_known_from_the_previous_body_are_passed_over(make_ill_formed: bool) -> None:
    def body(guids: list[str]) -> bytes:
        entries = "".join(f"<item><guid>{guid}</guid><title>Story {guid}</title><link>/{guid}</link></item>"
                          for guid in guids)
        return rss(entries + ("<item><title>&nbsp;</title></item>" if make_ill_formed else ""))

    first = parse_feed(body(["a", "b", "c"]), SOURCE, FETCHED)
    # The entry with no title, summary or link is no item, and has no digest to be known by.
    assert not first.passed_over and len(set(first.item_digests)) == len(first.items) == 3
    source = FeedSource(SOURCE.name, SOURCE.url, known_entries=frozenset(first.item_digests))
    # "b" left, "d" arrived, and "c" got a new link: the same guid under a new link has a new dedupe key.
    second = parse_feed(body(["a", "d"]).replace(b"</channel>", b"<item><guid>c</guid><link>/c2</link></item>"
                                                               b"</channel>"), source, FETCHED)
    assert [item.id for item in second.items] == ["d", "c"]
    assert second.passed_over == {first.item_digests[0]}
    assert not set(second.item_digests) & set(first.item_digests)


@pytest.mark.parametrize("hiding_place", ['SYSTEM "<a"', "SYSTEM '<a'", 'PUBLIC "-//x//<rss" "<b"'])
def test_a_quoted_literal_cannot_hide_an_internal_subset(hiding_place: str) -> None:
    body = (f'<?xml version="1.0"?><!DOCTYPE rss {hiding_place} [<!ENTITY a "{"x" * 1000}">'
            '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]><rss version="2.0"><channel><title>&b;</title>'
            "<item><title>&b;</title><link>/a</link></item></channel></rss>").encode()
    with pytest.raises(ParseError, match="refused"):
        parse_feed(body, SOURCE, FETCHED)


def test_an_ill_formed_prolog_with_a_declaration_is_refused() -> None:
    body = b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "<a" junk [<!ENTITY a "x">]><rss><channel></channel></rss>'
    with pytest.raises(ParseError, match="refused"):
        parse_feed(body, SOURCE, FETCHED)


async def test_parse_workers_have_their_address_space_capped() -> None:
    parser = Parser(inline_limit=0, worker_memory_limit=768 * 2**20)
    try:
        await parser.parse(rss("<item><title>x</title><link>/x</link></item>"), SOURCE, FETCHED)
        pool = parser._executor
        assert isinstance(pool, ProcessPoolExecutor)
        for process in pool._processes.values():
            limits = await asyncio.to_thread(Path(f"/proc/{process.pid}/limits").read_text)
            assert re.search(r"Max address space\s+805306368\s+805306368", limits), limits
    finally:
        parser.close()


ORPHAN_SCRIPT = """
import asyncio, sys, time
from datetime import UTC, datetime
from tocsin.parse import FeedSource, Parser

async def main() -> None:
    parser = Parser(inline_limit=0)
    source = FeedSource(name="w", url="https://example.org/", tags=(), language="en")
    await parser.parse(b"<rss><channel><title>t</title></channel></rss>", source, datetime.now(UTC))
    print("ready", flush=True)
    time.sleep(120)

if __name__ == "__main__":
    asyncio.run(main())
"""


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    pending = [pid]
    while pending:
        parent = pending.pop()
        for task in Path(f"/proc/{parent}/task").iterdir():
            children = (task / "children").read_text().split()
            found.update(int(child) for child in children)
            pending.extend(int(child) for child in children)
    return found


def test_parse_workers_exit_when_the_daemon_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "daemon.py"
    script.write_text(ORPHAN_SCRIPT)
    daemon = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert daemon.stdout is not None and daemon.stdout.readline() == "ready\n"
        helpers = _descendants(daemon.pid)
        assert helpers, "the pool started no process"
    finally:
        daemon.kill()
        daemon.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in helpers):
        time.sleep(0.1)
    left = [pid for pid in helpers if Path(f"/proc/{pid}/cmdline").exists()
            and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"]
    for pid in left:  # leave nothing behind when the test fails
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"still running after the daemon's SIGKILL: {left}"
