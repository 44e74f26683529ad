"""JSON Feed (https://jsonfeed.org, versions 1 and 1.1) -> a RawFeed, read as its own format, not as text.

The fields: the feed's `title` and `language`; each item's `id` (a number is read as its text, as the spec asks),
`url` (else `external_url`), `title`, the text from `summary`, else `content_text`, else `content_html` (the only
HTML one), `date_published` (else `date_modified`) and `language`. Every text is plain except content_html.

Bounded like the XML path: the body is bounded by the fetch's max_body_size and, when large, parsed in a capped
worker process (parse/pool.py); nesting deeper than Python's stack is an error, not a crash; a string holding a
lone surrogate (which JSON allows and UTF-8 cannot store) has it replaced.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

from tocsin.errors import ParseError
from tocsin.parse.dates import parse_date
from tocsin.parse.raw import NO_TEXT, RawEntry, RawFeed, Text

VERSION_PREFIX = "https://jsonfeed.org/version/"
_WHITESPACE = b" \t\r\n"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def is_json(body: bytes) -> bool:
    """Whether the body is a JSON object (its first character after a BOM and whitespace is `{`): the JSON Feed
    reader's to read, or to refuse by name."""
    return body.removeprefix(codecs.BOM_UTF8).lstrip(_WHITESPACE)[:1] == b"{"


def read_json_feed(body: bytes, shown: str) -> RawFeed:
    """The JSON Feed in `body`; raise ParseError naming the feed (`shown`) when it is not one."""
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ParseError(f"{shown}: not a feed: JSON that is not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise ParseError(f"{shown}: not a feed: broken JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") \
            from None
    except (RecursionError, ValueError) as exc:  # nesting past the stack; a number of more than 4,300 digits
        raise ParseError(f"{shown}: refused: JSON the reader cannot hold ({type(exc).__name__})") from None
    version = document.get("version") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith(VERSION_PREFIX):
        raise ParseError(
            f'{shown}: not a feed: looks like JSON but not a JSON Feed (no "version": "{VERSION_PREFIX}1.1")'
        )
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError(f'{shown}: not a feed: a JSON Feed without an "items" list')
    entries = tuple(_entry(item) for item in items if isinstance(item, dict))
    skipped = len(items) - len(entries)
    return RawFeed(
        title=Text(_string(document.get("title")), is_html=False),
        language=_string(document.get("language")) or None,
        entries=entries,
        warning=f"{skipped} item(s) of the JSON Feed are not objects and were skipped" if skipped else None,
    )


def _entry(item: dict[str, Any]) -> RawEntry:
    if content := _string(item.get("summary")) or _string(item.get("content_text")):
        summary = Text(content, is_html=False)
    elif content := _string(item.get("content_html")):
        summary = Text(content, is_html=True)
    else:
        summary = NO_TEXT
    identity = item.get("id")
    guid = str(identity) if isinstance(identity, int | float) and not isinstance(identity, bool) else ""
    return RawEntry(
        guid=_string(identity) or guid,
        title=Text(_string(item.get("title")), is_html=False),
        link=_string(item.get("url")) or _string(item.get("external_url")),
        summary=summary,
        published=parse_date(_string(item.get("date_published")) or _string(item.get("date_modified"))),
        language=_string(item.get("language")) or None,
    )


def _string(value: object) -> str:
    """A JSON string as storable text ("" for anything else): lone surrogates become U+FFFD."""
    if not isinstance(value, str):
        return ""
    return value if value.isascii() else _LONE_SURROGATE.sub("\ufffd", value)
