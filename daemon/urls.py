"""URLs, in the four forms tocsin needs: absolute (a feed's link resolved against the feed), canonical (one key
for one article across feeds), safe (an http(s) link a receiver may show) and redacted (no password in a log line).

Plain string work on urllib.parse, imported by parse workers, the store's dedupe and the receivers alike, so it
imports nothing of tocsin: a parse worker that needs `redact_url` must not load httpx with the fetcher.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]+")
"""Control, line-separator and bidirectional-override characters: never in a safe link or a one-line text."""
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"
"""Characters a URL may carry as they are; anything else (spaces, quotes, <, >, |, non-ASCII) is percent-encoded,
so a link cannot end the markup it sits in early."""

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


def absolute_link(link: str, base: str) -> str:
    """The link resolved against the feed URL; empty when it is not http(s) (javascript:, mailto:, ...)."""
    link = link.strip()
    if not link:
        return ""
    try:
        if not link.startswith(("http://", "https://")):
            # Already absolute (nearly every link) needs no join: it would only re-assemble the same parts.
            link = urljoin(base, link)
        parts = urlsplit(link)
    except ValueError:
        return ""
    return link if parts.scheme in ("http", "https") and parts.hostname else ""


def safe_link(url: str) -> str | None:
    """The link when it is an absolute http(s) URL (feed links are untrusted: no javascript:, data:, file:)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or CONTROL_CHARACTERS.search(url):
        return None
    return url.strip()


def encoded_link(url: str) -> str | None:
    """A safe link (see safe_link) percent-encoded so that it is a valid URL for chat services, which refuse or cut
    links with spaces and read `|`, `<`, `>` as markup: `https://x.example/a b|c` -> `https://x.example/a%20b%7Cc`."""
    link = safe_link(url)
    return quote(link, safe=_URL_SAFE) if link else None


def redact_url(url: str) -> str:
    """The URL without user:password@, for logs and error messages."""
    parts = urlsplit(url)
    if not (parts.username or parts.password):
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
