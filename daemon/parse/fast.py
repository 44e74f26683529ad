"""The fast reader: well-formed RSS 0.9x/1.0/2.0 and Atom 1.0 read with expat (xml.etree's C parser), about ten
times cheaper than feedparser.

It answers None for anything it is not sure to read as feedparser would: an ill-formed document, an encoding expat
cannot decode, a charset header that contradicts the document, an unknown root (Atom 0.3, CDF, ...), xml:base,
markup inside a text field, or entries it cannot account for. The caller then uses feedparser, so broken feeds
keep today's behaviour. Where feedparser has a reading rule (which title wins, when a guid is the link, ...) this
reader follows it; the equivalence test over the shared corpus holds them together. Two deliberate differences:
an item's own description beats a Media RSS caption that comes before it, and xml:lang on an rdf:RDF root counts
(feedparser looks for it on rss and feed only).

Safety: the body has passed the entity-declaration refusal before it gets here, so expat never sees an internal
DTD subset; expat (as xml.etree drives it) never fetches external entities and reports an undefined entity as an
error, which means feedparser's fallback.
"""

from __future__ import annotations

import codecs
import contextlib
import re
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterable
from datetime import datetime
from html.entities import entitydefs

from tocsin.parse.dates import parse_date
from tocsin.parse.feedparser_private import HARMLESS_HTML_ELEMENTS
from tocsin.parse.raw import NO_TEXT, RawEntry, RawFeed, Text
from tocsin.parse.text import BREAKING_ELEMENTS, HIDDEN_ELEMENTS

_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_ATOM = "{http://www.w3.org/2005/Atom}"
_XML = "{http://www.w3.org/XML/1998/namespace}"
# Names as feedparser sees them: these namespaces are the core vocabulary (no prefix), the others by their usual
# prefix; elements of any other namespace are not read.
_PREFIXES = {
    "http://purl.org/rss/1.0/": "",
    "http://my.netscape.com/rdf/simple/0.9/": "",
    "http://www.w3.org/2005/Atom": "",
    "http://purl.org/dc/elements/1.1/": "dc:",
    "http://purl.org/dc/terms/": "dcterms:",
    "http://purl.org/rss/1.0/modules/content/": "content:",
}
_TITLES = frozenset({"title", "dc:title"})
_SUMMARIES = frozenset({"description", "dc:description", "summary"})
_CONTENTS = frozenset({"content:encoded", "content", "body", "xhtml:body", "fullitem"})
_DATES = {
    "pubdate": 0, "published": 0, "issued": 0, "dcterms:issued": 0,
    "updated": 1, "modified": 1, "lastbuilddate": 1, "dc:date": 1, "dcterms:modified": 1,
    "created": 2, "dcterms:created": 2,
}
_LANGUAGES = frozenset({"language", "dc:language"})
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_ATOM_TYPES = {"text": "text/plain", "html": "text/html", "xhtml": "application/xhtml+xml"}
_MEDIA = "{http://search.yahoo.com/mrss/}"
# Every element feedparser would take for an entry, wherever it is: the reader must have found them all.
_ENTRY_TAGS = frozenset(
    f"{{{namespace}}}{local}" if namespace else local
    for namespace, prefix in (("", ""), *_PREFIXES.items())
    if not prefix
    for local in ("item", "entry")
)
_ENTRY_IN_BODY = re.compile(rb"<([A-Za-z_][\w.-]*:)?(item|entry)[\s>/]")
_ENCODING_DECLARATION = re.compile(r"""^<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._-]+)""")
_CHARSET_PARAMETER = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9._-]+)""", re.IGNORECASE)
_CLOSE_TAG = re.compile(r"</(\w+)>")
_ANY_TAG = re.compile(r"</?(\w+)")
_ENTITY = re.compile(r"&#?\w+;")
_NAMED_ENTITY = re.compile(r"&(\w+);")
_AMPERSAND_ENTITY = re.compile(r"&([A-Za-z0-9_]+);")
_CP1252_RANGE = re.compile("[\x80-\x9f]")


class Unusual(Exception):
    """The document is not one this reader is sure to read as feedparser would: use feedparser."""


def read_fast(body: bytes, content_type: str | None) -> RawFeed | None:
    """The feed read from `body` (already checked by the guard), or None to let feedparser read it."""
    if b"xml:base" in body:
        return None  # relative links would resolve against it; rare enough to leave to feedparser
    encoding = _document_encoding(body)
    if encoding is None or not _charset_agrees(content_type, encoding):
        return None
    # Safe here, unlike in general (S314): the guard refused any internal DTD subset, so no entity can expand,
    # and xml.etree resolves no external entity (an undefined one is a parse error).
    parser = ElementTree.XMLParser()  # noqa: S314
    try:
        parser.feed(body)
        root = parser.close()
        return _Reader(utf8=encoding == "utf-8").feed(root, body)
    except (ElementTree.ParseError, ValueError, LookupError, RecursionError, Unusual):
        # ValueError: expat cannot decode the declared encoding (multi-byte, UTF-32); LookupError: unknown name;
        # RecursionError: inline XHTML nested deeper than Python's stack (feedparser reads it without recursing).
        return None


def _document_encoding(body: bytes) -> str | None:
    """The encoding as a codec name, from the BOM or XML declaration (UTF-8 when neither says); None if unknown."""
    if body.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if body.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, b"<\x00", b"\x00<")):
        return "utf-16"
    declared = _ENCODING_DECLARATION.match(body[:200].decode("latin-1"))
    if declared is None:
        return "utf-8"
    try:
        return codecs.lookup(declared.group(1)).name
    except LookupError:
        return None


def _charset_agrees(content_type: str | None, encoding: str) -> bool:
    """False when the HTTP header names another charset than the document: feedparser follows the header then."""
    charset = _CHARSET_PARAMETER.search(content_type or "")
    if charset is None:
        return True
    try:
        return codecs.lookup(charset.group(1)).name == encoding
    except LookupError:
        return False


def _name(tag: str) -> str | None:
    """The element's name in feedparser's vocabulary, lower-case; None for namespaces it is not read in."""
    if tag[:1] != "{":
        return tag.lower()
    namespace, _, local = tag[1:].partition("}")
    prefix = _PREFIXES.get(namespace)
    return None if prefix is None else prefix + local.lower()


class _Reader:
    def __init__(self, *, utf8: bool) -> None:
        self._utf8 = utf8
        self._atom = False

    def feed(self, root: ElementTree.Element, body: bytes) -> RawFeed:
        if root.tag == "rss":
            channel = root.find("channel")
            if channel is None:
                raise Unusual
            entries = [*channel.iterfind("item"), *root.iterfind("item")]
        elif root.tag == f"{_RDF}RDF":
            channel = next((child for child in root if _name(child.tag) == "channel"), None)
            if channel is None:
                raise Unusual
            entries = [child for child in root if _name(child.tag) == "item"]
        elif root.tag == f"{_ATOM}feed":
            self._atom = True
            channel = root
            entries = list(root.iterfind(f"{_ATOM}entry"))
        else:
            raise Unusual
        if not entries and _ENTRY_IN_BODY.search(body):
            raise Unusual  # items this reader does not see: feedparser may
        if sum(1 for element in root.iter() if element.tag in _ENTRY_TAGS) != len(entries):
            raise Unusual  # entries nested where this reader does not look
        title, language = self._channel(channel)
        if language is None:
            lang = root.get(f"{_XML}lang") or root.get("lang")
            language = lang.replace("_", "-") if lang else None
        return RawFeed(title=title, language=language, entries=tuple(self._entry(entry) for entry in entries))

    def _channel(self, channel: ElementTree.Element) -> tuple[Text, str | None]:
        title = NO_TEXT
        language: str | None = None
        for child in channel:
            name = _name(child.tag)
            if name in _TITLES and not title.value:
                title = self._text(child, "text/plain")
            elif name in _LANGUAGES:
                language = self._plain(child)
        return title, language

    def _entry(self, entry: ElementTree.Element) -> RawEntry:
        guid = entry.get(f"{_RDF}about") or ""
        title = NO_TEXT
        link: str | None = None
        guid_link = ""
        summary: Text | None = None
        content: Text | None = None
        dates: list[str | None] = [None, None, None]
        language: str | None = None
        for child in entry:
            name = _name(child.tag)
            if name is None:
                continue
            if name in _TITLES:
                if not title.value:
                    title = self._text(child, "text/plain")
            elif name == "link":
                link = self._link(child, link)
            elif name in ("guid", "id"):
                guid = self._plain(child)
                if not guid_link and (name == "id" or child.get("isPermaLink", "true") == "true"):
                    guid_link = guid
            elif name in _SUMMARIES:
                if summary is None:
                    summary = self._text(child, "text/plain" if name == "summary" else "text/html")
            elif name in _CONTENTS:
                if content is None:
                    content = self._content(child, name)
            elif name in _DATES:
                dates[_DATES[name]] = self._plain(child)
            elif name in _LANGUAGES:
                language = self._plain(child)
        if not title.value:
            title = self._media(entry, "title", "text/plain") or title
        return RawEntry(
            guid=guid,
            title=title,
            link=guid_link if link is None else link,
            summary=summary or content or self._media(entry, "description", "text/html") or NO_TEXT,
            published=_first_date(dates),
            language=language,
        )

    def _media(self, entry: ElementTree.Element, local: str, default_type: str) -> Text | None:
        """Media RSS's title or description (of a video, say), only for an entry that has none of its own.
        feedparser prefers an image caption that comes before the item's own description; the item's text is
        what matters here."""
        element = next(entry.iter(f"{_MEDIA}{local}"), None)
        return None if element is None else self._text(element, default_type)

    def _content(self, element: ElementTree.Element, name: str) -> Text:
        default = _default_content_type(name)
        text = self._text(element, default)
        if _content_type(element.get("type", default)) == "application/xhtml+xml":
            return text  # already words
        # feedparser hands a summary taken from content over untyped, and untyped reads as HTML.
        return Text(text.value, is_html=True)

    def _link(self, element: ElementTree.Element, current: str | None) -> str | None:
        href = element.get("href") or element.get("url") or element.get("uri")
        if href is None:
            text = self._plain(element)
            # feedparser undoes a common double escape of query strings (`?a=1&amp;b=2`) in link text.
            return _AMPERSAND_ENTITY.sub(r"&\1", text.replace("&amp;", "&")) if "&" in text else text
        rel = element.get("rel", "alternate")
        kind = element.get("type", "application/atom+xml" if rel == "self" else "text/html")
        return self._repair(href.strip()) if rel == "alternate" and _content_type(kind) in _HTML_TYPES else current

    def _plain(self, element: ElementTree.Element) -> str:
        if len(element):
            raise Unusual  # markup where text belongs
        return self._repair((element.text or "").strip())

    def _text(self, element: ElementTree.Element, default_type: str) -> Text:
        kind = _content_type(element.get("type", default_type))
        if kind == "application/xhtml+xml":
            return Text(self._repair("".join(_xhtml_text(element)).strip()), is_html=False)
        value = self._plain(element)
        if kind == "text/plain" and not self._atom:
            # RSS says nothing about markup in titles; feedparser guesses, conservatively.
            return Text(value, is_html=_looks_like_html(value))
        return Text(value, is_html=kind != "text/plain")

    def _repair(self, value: str) -> str:
        """feedparser's repairs of text it reads: UTF-8 that was decoded as Latin-1 once too often is decoded
        again, and C1 controls (Windows-1252 bytes read as Latin-1) become the characters they stood for."""
        if value.isascii():
            return value
        if self._utf8:
            with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
                value = value.encode("latin-1").decode("utf-8")
        if _CP1252_RANGE.search(value):
            value = _CP1252_RANGE.sub(_cp1252_character, value)
        return value


def _default_content_type(name: str) -> str:
    if name in ("body", "xhtml:body"):
        return "application/xhtml+xml"
    return "text/html" if name in ("content:encoded", "fullitem") else "text/plain"


def _content_type(kind: str) -> str:
    kind = kind.strip().lower()
    return _ATOM_TYPES.get(kind, kind)


def _first_date(dates: list[str | None]) -> datetime | None:
    for text in dates:
        when = parse_date(text) if text else None
        if when is not None:
            return when
    return None


def _xhtml_text(element: ElementTree.Element) -> Iterable[str]:
    """The words of inline XHTML content, block elements separating them, scripts and styles left out."""
    if element.text:
        yield element.text
    for child in element:
        local = child.tag.rpartition("}")[2].lower()
        if local not in HIDDEN_ELEMENTS:
            if local in BREAKING_ELEMENTS:
                yield " "
            yield from _xhtml_text(child)
            if local in BREAKING_ELEMENTS:
                yield " "
        if child.tail:
            yield child.tail


def _looks_like_html(value: str) -> bool:
    """feedparser's test: a close tag or an entity, only tags from its list of harmless HTML, known entities."""
    if not (_CLOSE_TAG.search(value) or _ENTITY.search(value)):
        return False
    if any(tag.lower() not in HARMLESS_HTML_ELEMENTS for tag in _ANY_TAG.findall(value)):
        return False
    return all(entity in entitydefs for entity in _NAMED_ENTITY.findall(value))


def _cp1252_character(match: re.Match[str]) -> str:
    try:
        return match.group().encode("latin-1").decode("cp1252")
    except UnicodeDecodeError:  # the five bytes Windows-1252 leaves undefined stay as they are
        return match.group()


