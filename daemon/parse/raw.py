"""What a feed reader hands to normalization: the fields of a feed and its entries as the document wrote them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Text:
    value: str
    is_html: bool
    """False only where the feed says (or it is evident) that the value is plain text: its markup characters are
    then words, e.g. a title about "<!ENTITY>"."""


NO_TEXT = Text("", is_html=False)


@dataclass(frozen=True, slots=True)
class RawEntry:
    guid: str
    title: Text
    link: str
    """As written: may be relative, or not http(s) at all."""
    summary: Text
    published: datetime | None
    """UTC; the first readable of published, updated and created."""
    language: str | None


@dataclass(frozen=True, slots=True)
class RawFeed:
    title: Text
    language: str | None
    entries: tuple[RawEntry, ...]
    warning: str | None = None
    """Set when the document was ill-formed but still yielded entries."""
