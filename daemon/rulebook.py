"""Everything the rule files hold, loaded and validated together: the matching rules and the escalation rules.

One read of the rule files (`rulefiles.py`), two compilers, one object: a reload swaps both kinds at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tocsin.escalate.rules import EscalationRuleSet, compile_escalation_rules
from tocsin.items import Item
from tocsin.matching.load import compile_rules
from tocsin.matching.model import Match
from tocsin.matching.rules import RuleSet
from tocsin.rulefiles import Problems, RuleFiles, compile_rule_files, compile_rule_files_collecting


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
    return compile_rule_files(paths, _compile_both)


def check_rulebook(paths: Sequence[Path]) -> tuple[RuleBook, Problems]:
    """The rules of `paths` that compile, and every problem of the others (for `tocsin check`)."""
    return compile_rule_files_collecting(paths, _compile_both)


def _compile_both(read: RuleFiles) -> RuleBook:
    matching = compile_rules(read)
    return RuleBook(RuleSet(matching), compile_escalation_rules(read, matching.gazetteer))
