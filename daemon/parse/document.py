"""One feed body -> a ParsedFeed: a JSON object goes to the JSON Feed reader; XML to the guard, then the fast
reader, else feedparser; then normalization."""

from __future__ import annotations

from datetime import datetime

from tocsin.parse.fast import read_fast
from tocsin.parse.guard import checked_body
from tocsin.parse.jsonfeed import is_json, read_json_feed
from tocsin.parse.loose import read_loose
from tocsin.parse.normalize import normalize
from tocsin.parse.source import FeedSource, ParsedFeed
from tocsin.urls import redact_url


def parse_feed(body: bytes, source: FeedSource, fetched_at: datetime) -> ParsedFeed:
    """Parse and normalize one feed body; raise ParseError with a message naming the feed on anything unusable."""
    return parse_fast(body, source, fetched_at) or parse_loose(body, source, fetched_at)


def parse_fast(body: bytes, source: FeedSource, fetched_at: datetime) -> ParsedFeed | None:
    """The fast reader's result, or None when the document needs feedparser; ParseError when it must not be read.
    A JSON Feed is read here whole (it never needs feedparser)."""
    if is_json(body):
        return normalize(read_json_feed(body, _shown(source)), source, fetched_at)
    raw = read_fast(checked_body(body, _shown(source)), source.content_type)
    return None if raw is None else normalize(raw, source, fetched_at)


def parse_loose(body: bytes, source: FeedSource, fetched_at: datetime) -> ParsedFeed:
    """feedparser's reading of the body: ill-formed documents, unusual formats and encodings."""
    shown = _shown(source)
    return normalize(read_loose(checked_body(body, shown), source.content_type, shown), source, fetched_at)


def _shown(source: FeedSource) -> str:
    return f'feed "{source.name}" ({redact_url(source.url)})'
