"""Bytes from the network -> normalized Items: entity declarations refused, feedparser run off the event loop.

Everything a feed sends is untrusted. The check for DTD internal subsets runs before feedparser sees a byte: a
"quadratic blow-up" entity made feedparser's loose parser grow past 7 GB from a 200 KB document.
"""

from __future__ import annotations

import asyncio
import codecs
import logging
import multiprocessing
import re
import signal
import time
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from daemon.errors import ParseError
from daemon.fetch import redact_url
from daemon.items import Item, canonical_link, content_hash

log = logging.getLogger(__name__)

MAX_SUMMARY_CHARS = 20_000
MAX_TITLE_CHARS = 1_000
FUTURE_TOLERANCE = timedelta(days=1)
"""A publication time further ahead than this is a broken clock or a scheduled post: the fetch time is used."""

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# feedparser flags these as "bozo" but the document itself is well-formed: a server's wrong Content-Type header,
# or an encoding declaration it had to correct.
_HARMLESS_BOZO = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)
_HEAD_BYTES = 64 * 1024
_ROOT_START = re.compile(r"<[A-Za-z_:]")
_DANGEROUS_PROLOG = re.compile(r"<!\s*ENTITY|<!\s*DOCTYPE[^>\[]*\[", re.IGNORECASE)
_HTML_START = re.compile(r"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FeedSource:
    """What normalization needs to know about the feed an body came from."""

    name: str
    url: str
    """The final URL after redirects: relative links resolve against it."""
    tags: tuple[str, ...] = ()
    language: str | None = None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    items: tuple[Item, ...]
    title: str
    warning: str | None = None
    """Set when the document was ill-formed but still yielded entries."""


def parse_feed(body: bytes, source: FeedSource, fetched_at: datetime) -> ParsedFeed:
    """Parse and normalize one feed body; raise ParseError with a message naming the feed on anything unusable."""
    shown = f'feed "{source.name}" ({redact_url(source.url)})'
    head = _decode(body[:_HEAD_BYTES])
    refuse_entity_declarations(body, head, shown)
    _refuse_non_feeds(head, shown)
    if body[:1].isspace() and body.lstrip().startswith(b"<?xml"):
        # Whitespace before the XML declaration (common in the wild) pushes feedparser onto its slower,
        # looser parser and flags a perfectly usable feed as ill-formed.
        body = body.lstrip()
    # No content-location: given a base URL, feedparser joins every link-like value (about 40% more time); links
    # are resolved here, once each, against the final feed URL.
    headers = {"content-type": source.content_type} if source.content_type else {}
    parsed: Any = feedparser.parse(
        body, sanitize_html=False, resolve_relative_uris=False, response_headers=headers
    )
    entries = parsed.get("entries") or []
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(problem, _HARMLESS_BOZO):
        problem = None
    if not entries and not parsed.get("version"):
        reason = f": {problem}" if problem else ""
        raise ParseError(f"{shown}: not a feed (no RSS, Atom or RDF found{reason})")
    feed_info = parsed.get("feed") or {}
    language = _language(feed_info.get("language")) or source.language
    items = tuple(
        item for entry in entries if (item := _normalize(entry, source, language, fetched_at)) is not None
    )
    warning = f"ill-formed feed used anyway: {problem}" if problem and entries else None
    return ParsedFeed(items=items, title=plain_text(feed_info.get("title") or "", MAX_TITLE_CHARS), warning=warning)


def refuse_entity_declarations(body: bytes, head: str, shown: str) -> None:
    """Raise ParseError when the prolog (before the root element) declares entities or a DTD internal subset.
    `head` is the decoded start of `body`; the rest is decoded only when the prolog runs past it."""
    prolog = _prolog(head)
    if prolog is head and len(body) > _HEAD_BYTES:
        prolog = _prolog(_decode(body))
    if _DANGEROUS_PROLOG.search(prolog):
        raise ParseError(
            f"{shown}: refused: the document declares a DTD internal subset or entities, which feeds never need "
            "and which can expand to gigabytes"
        )


def _decode(body: bytes) -> str:
    """The body as text, good enough to find the prolog: BOMs and BOM-less UTF-16/32 are recognized, and any
    ASCII-compatible encoding reads as Latin-1 (markup characters are the same bytes)."""
    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return body[len(bom):].decode(encoding, errors="replace")
    if body.startswith(b"\x00\x00\x00<"):
        return body.decode("utf-32-be", errors="replace")
    if body.startswith(b"<\x00\x00\x00"):
        return body.decode("utf-32-le", errors="replace")
    if body.startswith(b"\x00<"):
        return body.decode("utf-16-be", errors="replace")
    if body.startswith(b"<\x00"):
        return body.decode("utf-16-le", errors="replace")
    return body.decode("latin-1")


def _prolog(text: str) -> str:
    """Text up to the first element start outside comments and processing instructions."""
    position = 0
    while True:
        start = text.find("<", position)
        if start < 0:
            return text
        for opener, closer in (("<!--", "-->"), ("<?", "?>")):
            if text.startswith(opener, start):
                end = text.find(closer, start + len(opener))
                if end < 0:
                    return text
                position = end + len(closer)
                break
        else:
            if _ROOT_START.match(text, start):
                return text[:start]
            position = start + 1


def _refuse_non_feeds(text: str, shown: str) -> None:
    stripped = text.lstrip()
    if not stripped:
        raise ParseError(f"{shown}: not a feed: the body is empty")
    if stripped[0] in "{[":
        raise ParseError(f"{shown}: not a feed: looks like JSON (only RSS, Atom and RDF are read)")
    if _HTML_START.search(stripped[:2048]) and not re.search(r"<(rss|feed|rdf:RDF)[\s>]", stripped[:8192]):
        raise ParseError(f"{shown}: not a feed: looks like an HTML page (is the url the site, not its feed?)")


def _language(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return value.strip().lower()[:35]


def _normalize(entry: Any, source: FeedSource, language: str | None, fetched_at: datetime) -> Item | None:
    title = _field_text(entry.get("title") or "", entry.get("title_detail"), MAX_TITLE_CHARS)
    summary_value, summary_detail = _summary(entry)
    summary = _field_text(summary_value, summary_detail, MAX_SUMMARY_CHARS)
    link = absolute_link(entry.get("link") or "", source.url)
    if not (title or summary or link):
        return None
    guid = str(entry.get("id") or "").strip()
    item_id = guid or (canonical_link(link) if link else "") or f"hash:{content_hash(title, summary)}"
    return Item(
        id=item_id[:2048],
        feed=source.name,
        title=title,
        link=link,
        published=_published(entry, fetched_at),
        summary=summary,
        feed_tags=source.tags,
        language=_language(entry.get("language")) or language,
        fetched_at=fetched_at,
    )


def _summary(entry: Any) -> tuple[str, Any]:
    """The summary, else the first content block, with feedparser's detail (which says whether it is HTML)."""
    summary = entry.get("summary") or ""
    if summary:
        return str(summary), entry.get("summary_detail")
    for content in entry.get("content") or ():
        value = content.get("value") if hasattr(content, "get") else None
        if value:
            return str(value), content
    return "", None


def _field_text(value: str, detail: Any, limit: int) -> str:
    """Plain text of a feed field: markup is stripped only where the feed says the field is HTML, so a title
    about "<!ENTITY>" in plain text keeps its words."""
    kind = str(detail.get("type") or "") if hasattr(detail, "get") else ""
    if kind == "text/plain":
        return _WHITESPACE.sub(" ", value).strip()[:limit]
    return plain_text(value, limit)


def absolute_link(link: str, base: str) -> str:
    """The link resolved against the feed URL; empty when it is not http(s) (javascript:, mailto:, ...)."""
    link = link.strip()
    if not link:
        return ""
    try:
        resolved = urljoin(base, link)
        parts = urlsplit(resolved)
    except ValueError:
        return ""
    return resolved if parts.scheme in ("http", "https") and parts.hostname else ""


def _published(entry: Any, fetched_at: datetime) -> datetime:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: feedparser's own lookup maps updated_parsed to published_parsed with a DeprecationWarning.
        stamp = dict.get(entry, key)
        if stamp:
            try:
                year, month, day, hour, minute, second = stamp[:6]
                when = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                continue
            return fetched_at if when > fetched_at + FUTURE_TOLERANCE else when
    return fetched_at


class _TextExtractor(HTMLParser):
    """Keeps character data, drops tags and what scripts/styles contain, and breaks words at block elements."""

    _SKIP = frozenset({"script", "style", "template", "noscript"})
    _BREAK = frozenset({"p", "br", "div", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skipping += 1
        elif tag in self._BREAK:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
            self._skipping = max(self._skipping - 1, 0)
        elif tag in self._BREAK:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


_WHITESPACE = re.compile(r"\s+")


def plain_text(markup: str, limit: int) -> str:
    """HTML stripped, entities decoded, whitespace collapsed, at most `limit` characters."""
    if "<" in markup or "&" in markup:
        extractor = _TextExtractor()
        # Bound the work on hostile input: more than 4x the limit can never survive the cut anyway.
        extractor.feed(markup[: limit * 4])
        extractor.close()
        markup = "".join(extractor.parts)
    return _WHITESPACE.sub(" ", markup).strip()[:limit]


def _ignore_interrupts() -> None:
    # Ctrl-C reaches the whole process group; the service decides when workers stop, not the terminal.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Parser:
    """Runs parse_feed in a small process pool so parsing uses the second core and never stalls the event loop.

    The pool starts at the first body to parse (a `run --once` where every feed answers 304 never pays for it).
    Falls back to one thread when processes cannot be started (some sandboxes); a pool whose worker died is
    rebuilt and the feed being parsed reports an error.
    """

    def __init__(self, workers: int = 2, *, use_processes: bool = True) -> None:
        self._workers = workers
        self._use_processes = use_processes
        self._executor: Executor | None = None
        self._starting = asyncio.Lock()

    @property
    def uses_processes(self) -> bool:
        return isinstance(self._executor, ProcessPoolExecutor)

    def _start_executor(self, *, probe: bool = True) -> Executor:
        if self._use_processes:
            try:
                pool = ProcessPoolExecutor(
                    max_workers=self._workers,
                    mp_context=multiprocessing.get_context("forkserver"),
                    initializer=_ignore_interrupts,
                )
                if probe:
                    # Fail now, not at the first feed, when processes cannot be started here.
                    pool.submit(time.monotonic).result(timeout=30)
                return pool
            except (OSError, RuntimeError, ImportError, TimeoutError) as exc:
                log.warning("parsing in a thread: cannot start worker processes (%s)", exc)
                self._use_processes = False
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="tocsin-parse")

    async def _ready_executor(self) -> Executor:
        async with self._starting:
            if self._executor is None:
                # Starting processes takes a few hundred milliseconds: not on the event loop.
                self._executor = await asyncio.to_thread(self._start_executor)
            return self._executor

    async def parse(self, body: bytes, source: FeedSource, fetched_at: datetime) -> ParsedFeed:
        executor = self._executor or await self._ready_executor()
        try:
            return await asyncio.get_running_loop().run_in_executor(executor, parse_feed, body, source, fetched_at)
        except BrokenProcessPool:
            if self._executor is executor:
                executor.shutdown(wait=False, cancel_futures=True)
                # No probe: this runs on the event loop, and processes did start here before.
                self._executor = self._start_executor(probe=False)
            raise ParseError(
                f'feed "{source.name}" ({redact_url(source.url)}): the parser process died (out of memory?)'
            ) from None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
