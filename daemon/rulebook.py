"""Everything the rule files hold, loaded and validated together: the matching rules and the escalation rules.

One load, one validation, one object: a reload swaps both at once, and nothing reads the rule files twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tocsin.errors import RuleError
from tocsin.escalate.rules import EscalationRuleSet, load_escalation_rules
from tocsin.items import Item
from tocsin.matching.model import Match
from tocsin.matching.rules import RuleSet, load_rules


class Matcher(Protocol):
    """What the pipeline needs of the matching rules: a compiled RuleSet, or a stand-in in tests."""

    def __len__(self) -> int: ...

    def match(self, item: Item) -> list[Match]: ...


@dataclass(frozen=True, slots=True)
class RuleBook:
    matching: Matcher
    escalation: EscalationRuleSet = field(default_factory=EscalationRuleSet)

    def __len__(self) -> int:
        return len(self.matching) + len(self.escalation)

    def describe(self) -> str:
        return f"{len(self.matching)} rule(s), {len(self.escalation)} escalation rule(s)"


def load_rulebook(paths: Sequence[Path]) -> RuleBook:
    """Both kinds of rules from `paths`; raises RuleError listing every problem of both at once."""
    problems: list[str] = []
    matching: RuleSet | None = None
    escalation: EscalationRuleSet | None = None
    try:
        matching = load_rules(paths)
    except RuleError as exc:
        problems = list(exc.problems)
    try:
        escalation = load_escalation_rules(paths)
    except RuleError as exc:
        # A missing rules directory is reported by both loaders: say it once.
        problems += [problem for problem in exc.problems if problem not in problems]
    if problems or matching is None or escalation is None:
        raise RuleError(problems)
    return RuleBook(matching, escalation)
