"""The two feedparser internals tocsin relies on, in one place, for a reader that must agree with feedparser.

The fast reader (parse/fast.py) takes a well-formed feed without feedparser, and must read it as feedparser
would; two of feedparser's reading rules have no public API: its date handlers (RFC 822, W3DTF, asctime and a dozen
localized forms, chained in `datetimes._parse_date`) and its list of harmless HTML elements (which decides whether
plain text "looks like HTML"). Copying them would drift from the feedparser that reads the other feeds, so they
are imported here, under a feedparser range pinned in pyproject.toml; tests/test_feedparser_private.py fails
loudly when an upgrade moves or changes them.
"""

from __future__ import annotations

import time

from feedparser.datetimes import _parse_date
from feedparser.sanitizer import _HTMLSanitizer

HARMLESS_HTML_ELEMENTS: frozenset[str] = frozenset(_HTMLSanitizer.acceptable_elements)
"""Elements feedparser's sanitizer keeps: text with only these tags (and a close tag or entity) is HTML to it."""


def feedparser_date(text: str) -> time.struct_time | None:
    """A date in any form feedparser's handlers read, as its UTC time tuple; None when none reads it."""
    parsed: time.struct_time | None = _parse_date(text)
    return parsed
