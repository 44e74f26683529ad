"""What the parser is given about a feed, and what it gives back."""

from __future__ import annotations

from dataclasses import dataclass

from tocsin.items import Item


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
    item_digests: tuple[int, ...] = ()
    """The entry digest of each item, in order: the caller knows which items it took in, and only those may be
    passed over next time (not an entry that was no item, nor an item left out as too old)."""
    passed_over: frozenset[int] = frozenset()
    """The digests of the entries left out of `items` because `known_entries` held them."""
