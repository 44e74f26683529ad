"""Every real feed file in ../shared/corpus/feeds, served over HTTP, goes through fetch and parse safely."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from tests.conftest import shared_path
from tests.servers.feed_server import FeedServer, running_server
from tocsin.config.feeds import HttpConfig
from tocsin.errors import ParseError
from tocsin.fetch.client import Fetcher
from tocsin.parse import FeedSource, parse_feed
from tocsin.parse.jsonfeed import is_json


@pytest.fixture(scope="module")
def corpus() -> Path:
    return shared_path("corpus", "feeds")


@pytest.fixture(scope="module")
def server(corpus: Path) -> Iterator[FeedServer]:
    yield from running_server(files_dir=corpus)


@pytest.fixture(scope="module")
def corpus_files(corpus: Path) -> dict[Path, bytes]:
    files = {path: path.read_bytes() for path in sorted(corpus.iterdir()) if path.is_file()}
    assert files, f"{corpus} holds no feed files"
    return files


async def test_every_corpus_feed_fetches_and_parses(corpus_files: dict[Path, bytes], server: FeedServer) -> None:
    fetcher = Fetcher(HttpConfig())
    readable = 0
    try:
        for path, content in corpus_files.items():
            result = await fetcher.fetch(server.url(f"/file/{path.name}"))
            assert result.body == content
            source = FeedSource(path.stem, result.url, ("corpus",), None, result.content_type)
            reference = feedparser.parse(content)
            try:
                parsed = parse_feed(result.body, source, datetime.now(UTC))
            except ParseError as exc:
                # A refusal is fine only for what feedparser cannot read either, and names the feed.
                assert not reference.entries, f"{path.name}: {exc}"
                assert path.stem in str(exc)
                continue
            if is_json(content):
                # feedparser reads no JSON Feed: every item object must become an item.
                items = json.loads(content)["items"]
                assert len(parsed.items) == len(items) > 0, path.name
                assert all(item.title or item.summary for item in parsed.items), path.name
                readable += 1
                continue
            assert len(parsed.items) == len(reference.entries), path.name
            if parsed.items:
                readable += 1
            for entry, item in zip(reference.entries, parsed.items, strict=True):
                if any(char.isalnum() for char in entry.get("title", "")):
                    assert item.title, f"{path.name}: lost the title {entry.title!r}"
                if entry.get("link", "").startswith(("http://", "https://", "/")):
                    assert item.link.startswith(("http://", "https://")), f"{path.name}: lost the link {entry.link!r}"
                assert item.published is not None and item.published.tzinfo is not None
    finally:
        await fetcher.close()
    assert readable >= len(corpus_files) // 2
