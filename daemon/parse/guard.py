"""What every body goes through before any XML parser sees it: entity declarations refused, non-feeds named.

Everything a feed sends is untrusted. A "quadratic blow-up" entity made feedparser's loose parser grow past 7 GB
from a 200 KB document, so a DTD internal subset is refused outright: feeds never need one.
"""

from __future__ import annotations

import codecs
import re

from tocsin.errors import ParseError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEAD_BYTES = 64 * 1024
_ROOT_START = re.compile(r"<[A-Za-z_:]")
_DANGEROUS_PROLOG = re.compile(r"<!\s*ENTITY|<!\s*DOCTYPE[^>\[]*\[", re.IGNORECASE)
_HTML_START = re.compile(r"<!doctype\s+html|<html[\s>]|<head[\s>]|<body[\s>]", re.IGNORECASE)


def checked_body(body: bytes, shown: str) -> bytes:
    """The body, ready for an XML parser; raise ParseError naming the feed (`shown`) when it must not be parsed."""
    head = decode_head(body[:_HEAD_BYTES])
    refuse_entity_declarations(body, head, shown)
    _refuse_non_feeds(head, shown)
    if body[:1].isspace() and body.lstrip().startswith(b"<?xml"):
        # Whitespace before the XML declaration (common in the wild) is an error for expat and pushes feedparser
        # onto its slower, looser parser, flagging a perfectly usable feed as ill-formed.
        body = body.lstrip()
    return body


def refuse_entity_declarations(body: bytes, head: str, shown: str) -> None:
    """Raise ParseError when the prolog (before the root element) declares entities or a DTD internal subset.
    `head` is the decoded start of `body`; the rest is decoded only when the prolog runs past it."""
    prolog = _prolog(head)
    if prolog is head and len(body) > _HEAD_BYTES:
        prolog = _prolog(decode_head(body))
    if _DANGEROUS_PROLOG.search(prolog):
        raise ParseError(
            f"{shown}: refused: the document declares a DTD internal subset or entities, which feeds never need "
            "and which can expand to gigabytes"
        )


def decode_head(body: bytes) -> str:
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
