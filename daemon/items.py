"""The normalized feed item, and the keys that make the same article one item across feeds."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from tocsin.urls import canonical_link


def content_hash(*texts: str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass"))
        digest.update(b"\x00")
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class Item:
    """One entry of a feed, normalized: plain-text title and summary, absolute link, UTC publication time."""

    id: str
    """Stable within its feed: the guid, else the canonical link, else a hash of title and summary."""
    feed: str
    title: str
    link: str
    published: datetime | None
    summary: str
    feed_tags: tuple[str, ...] = ()
    language: str | None = None
    fetched_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False)

    @property
    def canonical_link(self) -> str:
        return canonical_link(self.link) if self.link else ""

    @property
    def id_key(self) -> str:
        """Dedupe key within the feed."""
        return content_hash("id", self.feed, self.id)

    @property
    def link_key(self) -> str | None:
        """Dedupe key across feeds: the same canonical link is the same article wherever it appears."""
        return content_hash("link", self.canonical_link) if self.link else None

    @property
    def text(self) -> str:
        return f"{self.title}\n{self.summary}"


def document_item(text: str, feed: str, published: datetime) -> Item:
    """A plain-text document as one item: the first line is the title, the rest the summary."""
    title, _, summary = text.strip().partition("\n")
    return Item(id=content_hash(title, summary), feed=feed, title=title.strip(), link="", published=published,
                summary=summary.strip())
