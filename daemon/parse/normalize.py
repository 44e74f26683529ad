"""A feed's raw entries -> Items: plain text, absolute links, UTC times, stable ids."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from tocsin.items import Item, content_hash
from tocsin.parse.raw import RawEntry, RawFeed, Text
from tocsin.parse.source import FeedSource, ParsedFeed
from tocsin.parse.text import collapse, plain_text
from tocsin.urls import absolute_link, canonical_link

MAX_SUMMARY_CHARS = 20_000
MAX_TITLE_CHARS = 1_000
FUTURE_TOLERANCE = timedelta(days=1)
"""A publication time further ahead than this is a broken clock or a scheduled post: the fetch time is used."""


def normalize(feed: RawFeed, source: FeedSource, fetched_at: datetime) -> ParsedFeed:
    """Every entry that has a title, a summary or a link and is not among `source.known_entries`, as an Item of
    `source`."""
    language = language_tag(feed.language) or source.language
    known = source.known_entries
    items: list[Item] = []
    item_digests: list[int] = []
    passed_over: set[int] = set()
    for entry in feed.entries:
        digest = entry_digest(entry)
        if digest in known:
            passed_over.add(digest)
        elif (item := _item(entry, source, language, fetched_at)) is not None:
            items.append(item)
            item_digests.append(digest)
    return ParsedFeed(items=tuple(items), title=feed_title(feed), warning=feed.warning,
                      item_digests=tuple(item_digests), passed_over=frozenset(passed_over))


def entry_digest(entry: RawEntry) -> int:
    """What decides an entry's dedupe keys (guid and link as written; the text when it has neither), as a stable
    64-bit number: equal digests mean the same dedupe keys, except that a relative link without a guid resolves
    against the feed's final URL, so such an entry is passed over even when a redirect moved the feed (one alert
    fewer, never one more)."""
    if entry.guid or entry.link:
        identity = f"{entry.guid}\0{entry.link}"
    else:
        identity = f"\0{entry.title.value}\0{entry.summary.value}"
    return int.from_bytes(hashlib.blake2b(identity.encode("utf-8", "surrogatepass"), digest_size=8).digest())


def feed_title(feed: RawFeed) -> str:
    return plain_text(feed.title.value, MAX_TITLE_CHARS)


def language_tag(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    return value.strip().lower()[:35]


def _item(entry: RawEntry, source: FeedSource, language: str | None, fetched_at: datetime) -> Item | None:
    title = _field_text(entry.title, MAX_TITLE_CHARS)
    summary = _field_text(entry.summary, MAX_SUMMARY_CHARS)
    link = absolute_link(entry.link, source.url)
    if not (title or summary or link):
        return None
    guid = entry.guid.strip()
    item_id = guid or (canonical_link(link) if link else "") or f"hash:{content_hash(title, summary)}"
    published = entry.published
    if published is None or published > fetched_at + FUTURE_TOLERANCE:
        published = fetched_at
    return Item(
        id=item_id[:2048],
        feed=source.name,
        title=title,
        link=link,
        published=published,
        summary=summary,
        feed_tags=source.tags,
        language=language_tag(entry.language) or language,
        fetched_at=fetched_at,
    )


def _field_text(text: Text, limit: int) -> str:
    """Markup is stripped only where the field is HTML, so a plain-text title about "<!ENTITY>" keeps its words."""
    return plain_text(text.value, limit) if text.is_html else collapse(text.value, limit)
