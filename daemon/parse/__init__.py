"""Bytes from the network -> normalized Items.

A JSON object is read as a JSON Feed (jsonfeed.py). Every other body first passes the guard (entity declarations
refused, non-feeds named). Well-formed RSS, RDF and Atom are then read by the fast expat reader (about 1 ms for
50 items), everything else by feedparser as before (document.py). `Parser` decides where that runs so that the
event loop never waits long for it (pool.py).
"""

from tocsin.parse.document import parse_fast, parse_feed, parse_loose
from tocsin.parse.guard import refuse_entity_declarations
from tocsin.parse.pool import Parser
from tocsin.parse.source import FeedSource, ParsedFeed
from tocsin.parse.text import plain_text
from tocsin.urls import absolute_link

__all__ = [
    "FeedSource", "ParsedFeed", "Parser", "absolute_link", "parse_fast", "parse_feed", "parse_loose", "plain_text",
    "refuse_entity_declarations",
]
