"""What every body goes through before any XML parser sees it: entity declarations refused, non-feeds named.

Everything a feed sends is untrusted. A "quadratic blow-up" entity made feedparser's loose parser grow past 7 GB
from a 200 KB document, so a DTD internal subset is refused outright: feeds never need one.

The prolog is read by expat itself (the way defusedxml guards its parsers: a DOCTYPE handler that refuses an
internal subset, an entity-declaration handler that refuses any declaration), stopping at the root element, so a
quoted literal such as `SYSTEM "<a"` cannot hide a subset from the check as it hid it from a text scan. A prolog
expat cannot read goes to feedparser's loose parser, which expands entities too: there any entity declaration or
bracketed DOCTYPE anywhere in the text is refused.
"""

from __future__ import annotations

import codecs
import re
from xml.parsers import expat

from tocsin.errors import ParseError

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_HEAD_BYTES = 64 * 1024
_PROLOG_CHUNK = 64 * 1024
_DANGEROUS_TEXT = re.compile(r"<!\s*ENTITY|<!\s*DOCTYPE[^>\[]*\[", re.IGNORECASE)
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
    verdict = _prolog_verdict(head if len(body) <= _HEAD_BYTES else decode_head(body))
    if verdict == "refuse":
        raise ParseError(
            f"{shown}: refused: the document declares a DTD internal subset or entities, which feeds never need "
            "and which can expand to gigabytes"
        )


class _RootReached(Exception):
    pass


class _Declaration(Exception):
    pass


def _prolog_verdict(text: str) -> str:
    """"refuse" when expat meets an internal subset or entity declaration before the root element, "ok" when it
    reaches the root without one; a prolog expat cannot read is judged by the text scan."""

    def doctype(_name: str, _system: str | None, _public: str | None, has_internal_subset: bool) -> None:
        if has_internal_subset:
            raise _Declaration

    def declaration(*_details: object) -> None:
        raise _Declaration

    def root(*_details: object) -> None:
        raise _RootReached

    # The text is already decoded; handing expat UTF-8 with an overriding encoding makes every feed encoding
    # (UTF-32, legacy multi-byte ones expat does not know) read alike.
    parser = expat.ParserCreate(encoding="utf-8")
    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = declaration
    parser.UnparsedEntityDeclHandler = declaration
    parser.ElementDeclHandler = declaration
    parser.AttlistDeclHandler = declaration
    parser.StartElementHandler = root
    try:
        for start in range(0, len(text), _PROLOG_CHUNK):
            parser.Parse(text[start:start + _PROLOG_CHUNK].encode("utf-8", errors="replace"), False)
        parser.Parse(b"", True)
    except _RootReached:
        return "ok"
    except _Declaration:
        return "refuse"
    except expat.ExpatError:
        pass
    return "refuse" if _DANGEROUS_TEXT.search(text) else "ok"


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


def _refuse_non_feeds(text: str, shown: str) -> None:
    stripped = text.lstrip()
    if not stripped:
        raise ParseError(f"{shown}: not a feed: the body is empty")
    if stripped[0] in "{[":
        raise ParseError(f"{shown}: not a feed: looks like JSON, but not a JSON Feed (a UTF-8 object)")
    if _HTML_START.search(stripped[:2048]) and not re.search(r"<(rss|feed|rdf:RDF)[\s>]", stripped[:8192]):
        raise ParseError(f"{shown}: not a feed: looks like an HTML page (is the url the site, not its feed?)")
