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
    known_entries: frozenset[int] = frozenset()
    """Digests (`entry_digest`) of the entries of this feed's previous body that the pipeline has already taken
    in: they are passed over, not normalized again (most of a changed body is the entries it had before)."""


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    items: tuple[Item, ...]
    """The entries as items, except those passed over as known."""
    title: str
    warning: str | None = None
    """Set when the document was ill-formed but still yielded entries."""
    entry_digests: frozenset[int] = frozenset()
    """Every entry's digest: the `known_entries` of the next parse, once these items are taken in."""
    passed_over: int = 0
    """Entries left out of `items` because `known_entries` held them."""
