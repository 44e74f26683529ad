"""The feedparser internals tocsin imports (parse/feedparser_private.py): an upgrade that moves or changes them
fails here, by name, rather than as a fast reader that silently disagrees with feedparser."""

from __future__ import annotations

import time
from importlib.metadata import version

from packaging.version import Version

from tocsin.parse.feedparser_private import HARMLESS_HTML_ELEMENTS, feedparser_date


def test_installed_feedparser_is_in_the_pinned_range() -> None:
    assert Version("6.0.11") <= Version(version("feedparser")) < Version("6.1")


def test_date_handlers_read_the_forms_the_fast_path_leaves_to_them() -> None:
    expected = {
        "Sun Jan  4 16:29:06 2004": (2004, 1, 4, 16, 29, 6),  # asctime
        "2003-12-31T10:14:55-08:00": (2003, 12, 31, 18, 14, 55),  # W3DTF, shifted to UTC
        "Tue, 10 Jun 2025 06:00:00 +0200": (2025, 6, 10, 4, 0, 0),
        "2004-02-28T18:14:55": (2004, 2, 28, 18, 14, 55),
    }
    for text, fields in expected.items():
        parsed = feedparser_date(text)
        assert isinstance(parsed, time.struct_time), text
        assert tuple(parsed[:6]) == fields, text
    assert feedparser_date("not a date at all") is None


def test_harmless_elements_are_the_sanitizer_list() -> None:
    assert {"p", "a", "b", "em", "br", "img", "table"} <= HARMLESS_HTML_ELEMENTS
    assert not {"script", "iframe", "object", "style", "embed"} & HARMLESS_HTML_ELEMENTS
