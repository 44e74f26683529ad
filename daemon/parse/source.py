"""What the parser is given about a feed, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass

from daemon.items import Item


@dataclass(frozen=True, slots=True)
class FeedSource:
    """What normalization needs to know about the feed a body came from."""

    name: str
    url: str
    """The final URL after redirects: relative links resolve against it."""
    tags: tuple[str, ...] = ()
    language: str | None = None
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    items: tuple[Item, ...]
    title: str
    warning: str | None = None
    """Set when the document was ill-formed but still yielded entries."""
