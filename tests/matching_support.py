"""Helpers for the rule and matcher tests: items from text, and rule sets from TOML written to a temp dir."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from tocsin.items import Item
from tocsin.matching.model import Match
from tocsin.matching.rules import RuleSet, load_rules

REPO = Path(__file__).resolve().parent.parent
DEFAULT_RULES = REPO / "rules"
PUBLISHED = datetime(2020, 2, 17, 9, 0, tzinfo=UTC)


def item(title: str, summary: str = "", *, feed: str = "test", tags: tuple[str, ...] = (),
         language: str | None = None, published: datetime = PUBLISHED) -> Item:
    return Item(id=title, feed=feed, title=title, link="https://example.org/a", published=published,
                summary=summary, feed_tags=tags, language=language)


def rules_from(tmp_path: Path, text: str, name: str = "rules.toml") -> RuleSet:
    directory = tmp_path / "rules"
    directory.mkdir(exist_ok=True)
    (directory / name).write_text(text, encoding="utf-8")
    return load_rules([directory])


def fired(matches: list[Match]) -> set[str]:
    return {match.rule for match in matches}


def tags(matches: list[Match]) -> set[str]:
    return {tag for match in matches for tag in match.tags}
