"""Bytes from the network -> normalized Items.

A JSON object is read as a JSON Feed (jsonfeed.py). Every other body first passes the guard (entity declarations
refused, non-feeds named). Well-formed RSS, RDF and Atom are then read by the fast expat reader (about 1 ms for
50 items), everything else by feedparser as before (document.py). `Parser` decides where that runs so that the
event loop never waits long for it (pool.py).

The names below are imported from their modules when first asked for: the daemon imports `Parser` at start-up,
and the readers (with feedparser) only when a body arrives.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tocsin.parse.document import parse_fast, parse_feed, parse_loose
    from tocsin.parse.guard import refuse_entity_declarations
    from tocsin.parse.pool import Parser
    from tocsin.parse.source import FeedSource, ParsedFeed
    from tocsin.parse.text import plain_text
    from tocsin.urls import absolute_link

_EXPORTS = {
    "tocsin.parse.document": ("parse_fast", "parse_feed", "parse_loose"),
    "tocsin.parse.guard": ("refuse_entity_declarations",),
    "tocsin.parse.pool": ("Parser",),
    "tocsin.parse.source": ("FeedSource", "ParsedFeed"),
    "tocsin.parse.text": ("plain_text",),
    "tocsin.urls": ("absolute_link",),
}
_HOMES = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = [
    "FeedSource", "ParsedFeed", "Parser", "absolute_link", "parse_fast", "parse_feed", "parse_loose", "plain_text",
    "refuse_entity_declarations",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
