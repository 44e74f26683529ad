"""OPML 2.0 subscription lists, the format feed readers import and export, read and written.

An OPML file comes from elsewhere (another reader's export, a colleague's list) and is read like a feed body: the
guard refuses a DTD internal subset or entity declarations before expat sees it (guard.py), and a file above
MAX_OPML_BYTES is refused unread. ElementTree (expat) reads the rest; no library is needed for one element name
and four attributes, and the guard is the one defusedxml would have been.

Folders are outlines without an xmlUrl; the folders an outline sits in, and its `category` attribute (comma-
separated, each a /-path), become its categories.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from tocsin.errors import ParseError
from tocsin.parse.guard import decode_head, refuse_entity_declarations

MAX_OPML_BYTES = 4 * 1024 * 1024
"""A subscription list of 20,000 feeds is about 4 MB; anything larger is not one."""


@dataclass(frozen=True, slots=True)
class Subscription:
    title: str
    url: str
    """The feed (xmlUrl)."""
    categories: tuple[str, ...] = ()
    """The folders it sits in, outermost first, then its `category` attribute's parts, each once."""
    html_url: str | None = None
    """The site the feed belongs to."""


def read_opml(body: bytes, shown: str) -> list[Subscription]:
    """The subscriptions of an OPML document, in document order; raise ParseError naming `shown` (the file) and
    the line when it is not a readable OPML subscription list."""
    if len(body) > MAX_OPML_BYTES:
        raise ParseError(f"{shown}: refused: {len(body):,} bytes is larger than an OPML subscription list "
                         f"({MAX_OPML_BYTES:,} bytes at most)")
    refuse_entity_declarations(body, decode_head(body[:64 * 1024]), shown)
    try:
        root = ET.fromstring(body)  # noqa: S314 (guarded above)
    except ET.ParseError as exc:
        line, column = exc.position
        raise ParseError(f"{shown}:{line}:{column + 1}: not well-formed XML ({_reason(exc)})") from None
    if root.tag != "opml":
        raise ParseError(f"{shown}: not OPML: the root element is <{root.tag}>, not <opml>")
    body_element = root.find("body")
    if body_element is None:
        raise ParseError(f"{shown}: not an OPML subscription list: no <body> element")
    return list(_subscriptions(body_element, ()))


def _reason(exc: ET.ParseError) -> str:
    return str(exc).split(":")[0]


def _subscriptions(parent: ET.Element, folders: tuple[str, ...]) -> Iterator[Subscription]:
    for outline in parent.iterfind("outline"):
        title = (outline.get("title") or outline.get("text") or "").strip()
        url = (outline.get("xmlUrl") or "").strip()
        if not url:
            # A folder (or a note): what it holds sits in it.
            yield from _subscriptions(outline, (*folders, title) if title else folders)
            continue
        listed = [part.strip() for category in (outline.get("category") or "").split(",")
                  for part in category.split("/")]
        categories = tuple(dict.fromkeys(category for category in (*folders, *listed) if category))
        yield Subscription(title or url, url, categories, (outline.get("htmlUrl") or "").strip() or None)
        yield from _subscriptions(outline, folders)


def write_opml(subscriptions: Sequence[Subscription], title: str, created: datetime) -> bytes:
    """An OPML 2.0 document listing `subscriptions`, flat, each with its categories in the `category` attribute
    (what readers that import OPML read as folders or tags)."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(created, usegmt=True)
    body = ET.SubElement(root, "body")
    for subscription in subscriptions:
        attributes = {"type": "rss", "text": subscription.title, "title": subscription.title,
                      "xmlUrl": subscription.url}
        if subscription.html_url:
            attributes["htmlUrl"] = subscription.html_url
        if subscription.categories:
            attributes["category"] = ",".join(subscription.categories)
        ET.SubElement(body, "outline", attributes)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
