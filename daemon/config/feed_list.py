"""Feeds from a subscription list (an OPML import) as `[[feeds]]` entries: named, deduplicated, and added to a
configuration file with tomlkit, which keeps the file's comments, order and layout as the operator wrote them.

A feed is named after its title (lower case, words joined by -, as the example configuration names feeds; after
its site when the title has no Latin letters or digits); its
folders and categories become its tags. A feed whose URL the configuration already polls is left out, and a name
already taken gets -2, -3 ...
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import tomlkit
from tomlkit.items import AoT, Table

from tocsin.errors import ConfigError


class Listed(Protocol):
    """A feed as a subscription list gives it (parse/opml.py Subscription)."""

    @property
    def title(self) -> str: ...

    @property
    def url(self) -> str: ...

    @property
    def categories(self) -> tuple[str, ...]: ...


@dataclass(frozen=True, slots=True)
class NewFeed:
    name: str
    url: str
    tags: tuple[str, ...]
    title: str
    """As the list gave it, kept as a comment beside the entry."""


@dataclass(frozen=True, slots=True)
class Chosen:
    added: list[NewFeed]
    already_polled: list[str]
    """URLs of the list that the configuration already polls (or that the list names twice)."""
    not_http: list[str]
    """URLs of the list that are not http(s), which tocsin cannot poll."""


def slug(text: str) -> str:
    """`BBC News - World` -> `bbc-news-world`: ASCII letters and digits, words joined by -."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def choose(listed: Iterable[Listed], names: Iterable[str], urls: Iterable[str]) -> Chosen:
    """The `[[feeds]]` entries for `listed`, given the names and URLs the configuration already has."""
    taken, polled = set(names), set(urls)
    chosen = Chosen([], [], [])
    for feed in listed:
        if not feed.url.startswith(("http://", "https://")):
            chosen.not_http.append(feed.url)
            continue
        if feed.url in polled:
            chosen.already_polled.append(feed.url)
            continue
        polled.add(feed.url)
        base = slug(feed.title) or slug(_site(feed.url)) or "feed"
        name = next(candidate for number in range(1, len(taken) + 2)
                    if (candidate := base if number == 1 else f"{base}-{number}") not in taken)
        taken.add(name)
        tags = tuple(dict.fromkeys(tag for tag in map(slug, feed.categories) if tag))
        chosen.added.append(NewFeed(name, feed.url, tags, feed.title))
    return chosen


def _site(url: str) -> str:
    """The host a feed is on without www., to name a feed whose title has no Latin letters or digits."""
    return (urlsplit(url).hostname or "").removeprefix("www.")


def feed_tables(feeds: Sequence[NewFeed], source: str) -> str:
    """The entries as TOML, to print or paste: one `[[feeds]]` table each."""
    document = tomlkit.document()
    document.append("feeds", _array(feeds, source))
    return tomlkit.dumps(document)


def add_feeds(config_text: str, feeds: Sequence[NewFeed], source: str, shown: str) -> str:
    """`config_text` with the entries appended to its `[[feeds]]` array (created at the end when it has none),
    everything else as it was. Raises ConfigError naming `shown` when the text is not TOML or `feeds` is not an
    array of tables."""
    try:
        document = tomlkit.parse(config_text)
    except tomlkit.exceptions.ParseError as exc:
        raise ConfigError([f"{shown}:{exc.line}: not valid TOML: {exc}"]) from None
    existing = document.get("feeds")
    if existing is None:
        document.append("feeds", _array(feeds, source))
    elif isinstance(existing, AoT):
        for table in _array(feeds, source):
            existing.append(table)
        if feeds:
            existing[-1].add(tomlkit.nl())  # tomlkit separates the tables, not the last one from what follows
    else:
        raise ConfigError([f"{shown}: feeds: must be an array of tables ([[feeds]]) to add feeds to it"])
    return tomlkit.dumps(document)


def _array(feeds: Sequence[NewFeed], source: str) -> AoT:
    array = tomlkit.aot()
    for feed in feeds:
        array.append(_table(feed, source))
    return array


def _table(feed: NewFeed, source: str) -> Table:
    table = tomlkit.table()
    table.add(tomlkit.comment(f"{' '.join(feed.title.split())} (from {source})"))  # one line, whatever the title
    table.add("name", feed.name)
    table.add("url", feed.url)
    if feed.tags:
        table.add("tags", feed.tags)
    return table
