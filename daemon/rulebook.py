"""Everything the rule files hold, loaded and validated together: the matching rules and the escalation rules.

One read of the rule files (`rulefiles.py`), two compilers, one object: a reload swaps both kinds at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from tocsin.errors import RuleError
from tocsin.escalate.rules import EscalationRuleSet, compile_escalation_rules
from tocsin.items import Item
from tocsin.matching.load import LoadedRules, compile_rules
from tocsin.matching.model import Match
from tocsin.matching.rules import RuleSet
from tocsin.rulecache import cached_rules
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


def load_rulebook(paths: Sequence[Path], cache_dir: Path | None = None) -> RuleBook:
    """Both kinds of rules from `paths`; raises RuleError listing every problem of both at once. With `cache_dir`
    (the state directory) the compiled rules are kept there and reused while the files are unchanged
    (rulecache.py); only the prefilter's RE2 Set is compiled again."""
    matching, escalation = cached_rules(paths, cache_dir, lambda: compile_both(paths))
    return RuleBook(RuleSet(matching), escalation)


def check_rulebook(paths: Sequence[Path], cache_dir: Path | None = None) -> tuple[RuleBook, Problems]:
    """The rules of `paths` that compile, and every problem of the others (for `tocsin check`). With `cache_dir`,
    rules that compiled without a problem before and are unchanged come from the rule cache, as `run` finds them."""
    if cache_dir is not None:
        with contextlib.suppress(RuleError):
            return load_rulebook(paths, cache_dir), Problems()
    return compile_rule_files_collecting(paths, _compile_rulebook)


def compile_both(paths: Sequence[Path]) -> tuple[LoadedRules, EscalationRuleSet]:
    """The matching and the escalation rules of the files under `paths`, from one read of them (RuleError)."""
    return compile_rule_files(paths, _compile_read)


def _compile_read(read: RuleFiles) -> tuple[LoadedRules, EscalationRuleSet]:
    matching = compile_rules(read)
    return matching, compile_escalation_rules(read, matching.gazetteer)


def _compile_rulebook(read: RuleFiles) -> RuleBook:
    matching, escalation = _compile_read(read)
    return RuleBook(RuleSet(matching), escalation)
