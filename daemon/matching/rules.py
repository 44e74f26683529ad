"""A loaded, compiled rule set. (Placeholder until the rule engine lands: matches nothing.)"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from daemon.items import Item
from daemon.matching.model import Match


class RuleSet:
    def __init__(self, sources: Sequence[Path] = ()) -> None:
        self.sources = tuple(sources)

    def __len__(self) -> int:
        return 0

    def match(self, item: Item) -> list[Match]:
        return []


def load_rules(paths: Sequence[Path]) -> RuleSet:
    return RuleSet(paths)
