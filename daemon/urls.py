"""URLs, in the four forms tocsin needs: absolute (a feed's link resolved against the feed), canonical (one key
for one article across feeds), safe (an http(s) link a receiver may show) and redacted (no password or token in a
log line, an error or the state database), with the secret parts of a configured URL for `tocsin.redaction`.

Plain string work on urllib.parse, imported by parse workers, the store's dedupe and the receivers alike, so it
imports nothing of tocsin: a parse worker that needs `redact_url` must not load httpx with the fetcher.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urljoin, urlsplit, urlunsplit

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


SECRET_PARAMETER = re.compile(
    r"(?i)(?:^|[_.-])(?:token|key|apikey|secret|password|passwd|pass|pwd|sig|signature|auth|authorization"
    r"|credentials?|session|sessionid)$"
)
"""A query parameter (or a key=value in text) that holds a credential: its name is, or ends in `_`/`-`/`.` and,
one of these: `token`, `access_token`, `api_key`, `apikey`, `key`, `client_secret`, `password`, `sig`,
`X-Amz-Signature`... (`author` or `keyword` are not)."""
_TOKEN_SEGMENT = re.compile(r"^(?=[^/]*[0-9])(?=[^/]*[A-Za-z])[A-Za-z0-9_:.~=-]{16,}$")
"""A path segment that is a capability, not a name: 16 or more letters and digits mixed, as in a Slack webhook
(`/services/T0/B0/<token>`), a Discord one (`/api/webhooks/<id>/<token>`) or a Telegram bot path (`/bot<token>`)."""
_MASK = "***"


def redact_url(url: str) -> str:
    """The URL without user:password@ and with secret-looking query values masked (`?token=***&page=2`), for
    logs, error messages and the state database. The rest is left as written, not re-encoded."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return _MASK  # not parseable, so no telling where a credential starts
    netloc = parts.netloc
    if parts.username is not None or parts.password is not None:
        netloc = f"[{host}]" if ":" in host else host
        if port:
            netloc = f"{netloc}:{port}"
    query = "&".join(_redact_parameter(pair) for pair in parts.query.split("&")) if parts.query else ""
    if netloc == parts.netloc and query == parts.query:
        return url
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _redact_parameter(pair: str) -> str:
    name, equals, value = pair.partition("=")
    return f"{name}={_MASK}" if equals and value and SECRET_PARAMETER.search(name) else pair


def url_secrets(url: str) -> list[str]:
    """The secret parts of a configured URL, so that an answer echoing one of them alone is masked too: the
    password, user:password and its base64 (the Basic authorization sent for it), secret-looking query values,
    and capability-like path segments (see _TOKEN_SEGMENT)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return []
    found = []
    if parts.password:
        userinfo = f"{parts.username or ''}:{parts.password}"
        found += [parts.password, unquote(parts.password), userinfo,
                  base64.b64encode(unquote(userinfo).encode()).decode()]
    for name, value in parse_qsl(parts.query, keep_blank_values=False):
        if SECRET_PARAMETER.search(name):
            found.append(value)
    found += [segment for segment in parts.path.split("/") if _TOKEN_SEGMENT.match(segment)]
    return found
