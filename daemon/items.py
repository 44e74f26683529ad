"""The normalized feed item, and the keys that make the same article one item across feeds."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that only say where a click came from; two links that differ in these are one article.
_TRACKING_PARAMS = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "igshid", "ocid", "cmpid", "smid", "ref_src"}
)
_TRACKING_PREFIXES = ("utm_", "at_", "__twitter")


def canonical_link(link: str) -> str:
    """Lower-case scheme and host, no fragment, no tracking parameters, no default port, sorted query."""
    parts = urlsplit(link.strip())
    if parts.scheme not in ("http", "https"):
        return link.strip()
    host = (parts.hostname or "").lower()
    if parts.port and not (
        (parts.scheme == "http" and parts.port == 80) or (parts.scheme == "https" and parts.port == 443)
    ):
        host = f"{host}:{parts.port}"
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if key.lower() not in _TRACKING_PARAMS and not key.lower().startswith(_TRACKING_PREFIXES)
    ]
    path = parts.path or "/"
    return urlunsplit((parts.scheme.lower(), host, path, urlencode(sorted(query)), ""))


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
