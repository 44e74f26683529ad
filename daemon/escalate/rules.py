"""Escalation rules: the `[[escalation]]` tables of the rule files, validated with file:line messages.

Each rule groups matches by a key (place, country, theatre, actor, rule or tag) into situations and says how a
situation's level rises; countries and theatres come from the gazetteer's hierarchy. Exactly one of three conditions:

    count       = { tag = "shootdown", at_least = 2 }            # N stories with the tag (or rule) in the window
    count       = { tag = "strike", at_least = 1, capital = true }  # ... whose reports name a capital
    combination = { tags = ["buildup", "deadline"], ordered = true }  # every tag within the window (in order)
    combination = { tags = ["rockets", "airstrikes"], at_least = 2 }  # every tag, each in N stories
    ladder      = { half_life = "3d", weights = { strike = 1, shootdown = 3 }, watch = 1, elevated = 4, ... }

The files are read once by `rulefiles.py`; this module compiles their `[[escalation]]` tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from tocsin.matching.gazetteer import Gazetteer, Region
from tocsin.matching.load import compile_gazetteer
from tocsin.rulefiles import Problems, RuleFile, RuleFiles, compile_rule_files, did_you_mean
from tocsin.severity import Severity
from tocsin.units import parse_duration

LEVELS = ("watch", "elevated", "high", "critical")
"""Situation levels in rising order; rank 0 is "no level", rank i+1 is LEVELS[i]."""
LEVEL_SEVERITY = {
    "watch": Severity.LOW, "elevated": Severity.MEDIUM, "high": Severity.HIGH, "critical": Severity.CRITICAL,
}
GroupBy = Literal["place", "country", "theatre", "actor", "rule", "tag"]
GROUP_BY = ("place", "country", "theatre", "actor", "rule", "tag")

_RULE_KEYS = ("id", "title", "description", "group_by", "window", "level", "count", "combination", "ladder")
_CONDITIONS = ("count", "combination", "ladder")


def level_rank(level: str | None) -> int:
    return LEVELS.index(level) + 1 if level else 0


def level_name(rank: int) -> str | None:
    return LEVELS[rank - 1] if rank > 0 else None


@dataclass(frozen=True, slots=True)
class Count:
    at_least: int
    tag: str | None = None
    rule: str | None = None
    capital: bool = False
    """Only stories whose reports name a capital of the situation (`capital = true` in the gazetteer)."""


@dataclass(frozen=True, slots=True)
class Combination:
    tags: tuple[str, ...]
    ordered: bool = False
    at_least: int = 1
    """Stories each tag needs within the window: 2 asks that both sides keep firing, not one exchange."""


@dataclass(frozen=True, slots=True)
class Ladder:
    half_life: timedelta
    weights: dict[str, float]
    thresholds: tuple[tuple[int, float], ...]
    """(level rank, score needed), rising."""

    def level(self, score: float) -> int:
        reached = [rank for rank, needed in self.thresholds if score >= needed]
        return max(reached, default=0)


@dataclass(frozen=True, slots=True)
class EscalationRule:
    id: str
    title: str
    group_by: GroupBy
    condition: Count | Combination | Ladder
    window: timedelta = timedelta(0)
    """Count and combination: how far back signals count."""
    level: int = 0
    """Count and combination: the level rank the situation reaches while the condition holds."""
    description: str = ""
    source: str = ""
    """file:line, for messages."""


@dataclass(frozen=True, slots=True)
class EscalationRuleSet:
    rules: tuple[EscalationRule, ...] = ()
    sources: tuple[Path, ...] = field(default=())
    regions: Mapping[str, Region] = field(default_factory=dict)
    """The gazetteer's hierarchy by place name, for rules grouped by country or theatre."""
    _by_group: dict[str, tuple[EscalationRule, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Asked for every signal: computed once per load.
        by_group = {kind: tuple(rule for rule in self.rules if rule.group_by == kind) for kind in GROUP_BY}
        object.__setattr__(self, "_by_group", {kind: rules for kind, rules in by_group.items() if rules})

    def __len__(self) -> int:
        return len(self.rules)

    def grouped_by(self, group_by: str) -> tuple[EscalationRule, ...]:
        return self._by_group.get(group_by, ())

    @property
    def group_kinds(self) -> tuple[str, ...]:
        return tuple(self._by_group)

    @property
    def longest_window(self) -> timedelta:
        return max((rule.window for rule in self.rules), default=timedelta(0))


def load_escalation_rules(paths: Sequence[Path]) -> EscalationRuleSet:
    """Every `[[escalation]]` table under `paths`, with the hierarchy of the gazetteer among them; raises RuleError
    listing every problem at once."""
    return compile_rule_files(paths, lambda read: compile_escalation_rules(read, compile_gazetteer(read)))


def compile_escalation_rules(read: RuleFiles, gazetteer: Gazetteer) -> EscalationRuleSet:
    """The escalation rules of files already read, over the gazetteer compiled from them; their problems are added
    to `read.problems` (the caller raises)."""
    rules: list[EscalationRule] = []
    first_seen: dict[str, str] = {}
    for source in read.parsed:
        for index, table in enumerate(source.tables("escalation", read.problems)):
            checker = _RuleChecker(source, index, table, read.problems)
            rule = checker.check()
            rule_id = table.get("id")
            if isinstance(rule_id, str):
                if rule_id in first_seen:
                    checker.problem(None, f"duplicate id (first defined at {first_seen[rule_id]})")
                first_seen.setdefault(rule_id, checker.location)
            if rule is not None:
                rules.append(rule)
    return EscalationRuleSet(tuple(rules), read.files, gazetteer.regions())


class _RuleChecker:
    """Validates one [[escalation]] table, collecting every problem with the line of the key at fault."""

    def __init__(self, source: RuleFile, index: int, table: dict[str, Any], problems: Problems) -> None:
        self.source, self.index, self.table, self.problems = source, index, table, problems
        rule_id = table.get("id")
        self.name = f'escalation rule "{rule_id}"' if isinstance(rule_id, str) else f"escalation rule #{index + 1}"
        line = source.line("escalation", index)
        self.location = f"{source.name}:{line}" if line else source.name
        self._found = 0

    def problem(self, key: str | None, message: str) -> None:
        self.problems.add(self.source, self.source.line("escalation", self.index, key), self.name, message)
        self._found += 1

    def check(self) -> EscalationRule | None:
        table = self.table
        for key in table:
            if key not in _RULE_KEYS:
                self.problem(key, f'unknown key "{key}"{did_you_mean(key, _RULE_KEYS)}')
        rule_id = self.string("id", required=True)
        title = self.string("title") or rule_id or ""
        description = self.string("description") or ""
        group_by = self.string("group_by", required=True)
        if group_by is not None and group_by not in GROUP_BY:
            self.problem("group_by", f'group_by "{group_by}" is not one of {", ".join(GROUP_BY)}')
            group_by = None
        given = [key for key in _CONDITIONS if key in table]
        if len(given) != 1:
            self.problem(None, f"give exactly one condition of {', '.join(_CONDITIONS)} (found {len(given)})")
            return None
        condition = self._condition(given[0])
        window, level = timedelta(0), 0
        if given[0] != "ladder":
            window = self.duration("window", table, required=True) or timedelta(0)
            level_text = self.string("level", required=True)
            if level_text is not None:
                if level_text in LEVELS:
                    level = level_rank(level_text)
                else:
                    self.problem("level", f'level "{level_text}" is not one of {", ".join(LEVELS)}')
        else:
            for key in ("window", "level"):
                if key in table:
                    self.problem(key, f"a ladder rule has no {key} (its thresholds and half_life say it)")
        if self._found or rule_id is None or group_by is None or condition is None:
            return None
        return EscalationRule(
            id=rule_id, title=title, group_by=group_by, condition=condition, window=window, level=level,  # type: ignore[arg-type]
            description=description, source=self.location,
        )

    def string(self, key: str, table: dict[str, Any] | None = None, *, required: bool = False) -> str | None:
        value = (self.table if table is None else table).get(key)
        if value is None:
            if required:
                self.problem(None, f'required key "{key}" is missing')
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem(key, f'"{key}" must be a non-empty string')
            return None
        return value.strip()

    def duration(self, key: str, table: dict[str, Any], *, required: bool) -> timedelta | None:
        value = table.get(key)
        if value is None:
            if required:
                self.problem(None, f'required key "{key}" is missing (write 7d, 48h)')
            return None
        try:
            if not isinstance(value, str):
                raise ValueError(f"{value!r} is not a duration (write 7d, 48h)")
            parsed = parse_duration(value)
        except ValueError as exc:
            self.problem(key, f"{key}: {exc}")
            return None
        if parsed <= timedelta(0):
            self.problem(key, f"{key} must be longer than 0s")
            return None
        return parsed

    def _condition(self, kind: str) -> Count | Combination | Ladder | None:
        body = self.table[kind]
        if not isinstance(body, dict):
            self.problem(kind, f"{kind} must be a table, e.g. {kind} = {{ ... }}")
            return None
        known = {"count": ("tag", "rule", "at_least", "capital"), "combination": ("tags", "ordered", "at_least"),
                 "ladder": ("half_life", "weights", *LEVELS)}[kind]
        for key in body:
            if key not in known:
                self.problem(kind, f'{kind}: unknown key "{key}"{did_you_mean(key, known)}')
        if kind == "count":
            return self._count(body)
        if kind == "combination":
            return self._combination(body)
        return self._ladder(body)

    def _count(self, body: dict[str, Any]) -> Count | None:
        tag, rule = self.string("tag", body), self.string("rule", body)
        at_least, capital = self._at_least("count", body.get("at_least")), body.get("capital", False)
        if (tag is None) == (rule is None):
            self.problem("count", 'count: give exactly one of tag = "..." or rule = "..."')
        if not isinstance(capital, bool):
            self.problem("count", f"count: capital must be true or false (got {capital!r})")
            return None
        if at_least is None:
            return None
        return Count(at_least=at_least, tag=tag, rule=rule, capital=capital)

    def _at_least(self, kind: str, at_least: object) -> int | None:
        if not isinstance(at_least, int) or isinstance(at_least, bool) or at_least < 1:
            self.problem(kind, f"{kind}: at_least must be a whole number of 1 or more (got {at_least!r})")
            return None
        return at_least

    def _combination(self, body: dict[str, Any]) -> Combination | None:
        tags, ordered = body.get("tags"), body.get("ordered", False)
        if not isinstance(tags, list) or len(tags) < 2 or not all(isinstance(t, str) and t for t in tags):
            self.problem("combination", 'combination: tags must list two or more tags, e.g. ["buildup", "deadline"]')
            return None
        if not isinstance(ordered, bool):
            self.problem("combination", "combination: ordered must be true or false")
            return None
        at_least = self._at_least("combination", body.get("at_least", 1))
        return None if at_least is None else Combination(tuple(tags), ordered, at_least)

    def _ladder(self, body: dict[str, Any]) -> Ladder | None:
        half_life = self.duration("half_life", body, required=True)
        weights = body.get("weights")
        if not isinstance(weights, dict) or not weights or not all(
            isinstance(w, int | float) and not isinstance(w, bool) and w > 0 for w in weights.values()
        ):
            self.problem("ladder", "ladder: weights must map tags to positive numbers, e.g. { shootdown = 3 }")
            return None
        thresholds = []
        for level in LEVELS:
            needed = body.get(level)
            if needed is None:
                continue
            if not isinstance(needed, int | float) or isinstance(needed, bool) or needed <= 0:
                self.problem("ladder", f"ladder: {level} must be a positive score (got {needed!r})")
                return None
            thresholds.append((level_rank(level), float(needed)))
        if not thresholds:
            self.problem("ladder", f"ladder: give the score for at least one level of {', '.join(LEVELS)}")
            return None
        scores = [needed for _, needed in thresholds]
        if scores != sorted(scores) or len(set(scores)) != len(scores):
            self.problem("ladder", "ladder: scores must rise with the level (watch < elevated < high < critical)")
            return None
        if half_life is None:
            return None
        return Ladder(half_life, {str(tag): float(w) for tag, w in weights.items()}, tuple(thresholds))
