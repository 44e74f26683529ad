"""The robust reader: feedparser, for every document the fast reader leaves (ill-formed, odd formats, odd
encodings). It reads almost anything; a document that is ill-formed ("bozo") but yields entries is used, with a
warning."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import feedparser

from tocsin.errors import ParseError
from tocsin.parse.dates import from_struct_time
from tocsin.parse.raw import NO_TEXT, RawEntry, RawFeed, Text

# feedparser flags these as "bozo" but the document itself is well-formed: a server's wrong Content-Type header,
# or an encoding declaration it had to correct.
_HARMLESS_BOZO = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)


def read_loose(body: bytes, content_type: str | None, shown: str) -> RawFeed:
    """The feed read by feedparser; ParseError naming the feed (`shown`) when the body is no feed at all."""
    # No content-location: given a base URL, feedparser joins every link-like value (about 40% more time); links
    # are resolved once each during normalization, against the final feed URL.
    headers = {"content-type": content_type} if content_type else {}
    try:
        parsed: Any = feedparser.parse(
            body, sanitize_html=False, resolve_relative_uris=False, response_headers=headers
        )
    except Exception as exc:
        # Any failure of feedparser on hostile bytes costs this feed only, e.g. the UnicodeDecodeError its
        # encoding sniffer raises on a damaged XML declaration.
        raise ParseError(f"{shown}: unreadable: feedparser failed ({type(exc).__name__}: {exc})") from exc
    entries = parsed.get("entries") or []
    problem = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if isinstance(problem, _HARMLESS_BOZO):
        problem = None
    if not entries and not parsed.get("version"):
        reason = f": {problem}" if problem else ""
        raise ParseError(f"{shown}: not a feed (no RSS, Atom or RDF found{reason})")
    feed_info = parsed.get("feed") or {}
    language = feed_info.get("language")
    return RawFeed(
        title=Text(str(feed_info.get("title") or ""), is_html=True),
        language=language if isinstance(language, str) else None,
        entries=tuple(_entry(entry) for entry in entries),
        warning=f"ill-formed feed used anyway: {problem}" if problem and entries else None,
    )


def _entry(entry: Any) -> RawEntry:
    language = entry.get("language")
    return RawEntry(
        guid=str(entry.get("id") or ""),
        title=_text(entry.get("title") or "", entry.get("title_detail")),
        link=str(entry.get("link") or ""),
        summary=_summary(entry),
        published=_published(entry),
        language=language if isinstance(language, str) else None,
    )


def _summary(entry: Any) -> Text:
    """The summary, else the first content block, typed by feedparser's detail."""
    summary = entry.get("summary") or ""
    if summary:
        return _text(summary, entry.get("summary_detail"))
    for content in entry.get("content") or ():
        value = content.get("value") if hasattr(content, "get") else None
        if value:
            return _text(value, content)
    return NO_TEXT


def _text(value: Any, detail: Any) -> Text:
    kind = str(detail.get("type") or "") if hasattr(detail, "get") else ""
    return Text(str(value), is_html=kind != "text/plain")


def _published(entry: Any) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get: feedparser's own lookup maps updated_parsed to published_parsed with a DeprecationWarning.
        when = from_struct_time(dict.get(entry, key))
        if when is not None:
            return when
    return None
