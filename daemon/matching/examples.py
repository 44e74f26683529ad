"""Rule examples, in the spirit of `promtool test rules`: texts a rule must fire on and texts it must leave quiet,
written in the rule itself, read with the rule (`read_examples`) and run by `tocsin check` (`example_problems`).

```toml
[[rule]]
id = "shootdown-aircraft"
...
examples = [
  "Rebels shoot down army helicopter near Idlib",
  { text = "Turkey sends 7000 troops\\nAnd 2100 vehicles.", tags = ["buildup"], quantities = ["troops == 7000"] },
]
quiet = ["Senate shoots down the proposal"]
```

A text's first line is the title, the rest the summary, as `tocsin match` reads a plain-text document. An example
must fire the rule; with `tags`, the whole rule set must give the text exactly those tags (so an example can say
what it is not as well); with `quantities`, the rule's match must carry a quantity satisfying each expression; with
`deadline` (and `published`, the time the deadline resolves against), the match's deadline must be that time. A
quiet text must fire neither the rule nor any other rule with one of its tags: the tag is what an analyst sees.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from tocsin.items import Item, document_item
from tocsin.matching.quantities import COMPARISONS, QUANTITY_EXPRESSION
from tocsin.rulefiles import Problems, RuleFile, did_you_mean

if TYPE_CHECKING:
    from tocsin.matching.load import Rule
    from tocsin.matching.model import Match
    from tocsin.matching.rules import RuleSet

EXAMPLE_KEYS = ("text", "tags", "quantities", "published", "deadline")
QUIET_KEYS = ("text", "published")
SHOWN_CHARACTERS = 60
"""How much of an example's text a problem quotes."""
_FALLBACK_TIME = datetime(2000, 1, 1, tzinfo=UTC)
"""The publication time of an example that gives none: fixed, so that a check gives the same answer every day."""


@dataclass(frozen=True, slots=True)
class ExpectedQuantity:
    unit: str
    comparison: str
    value: float

    def holds(self, unit: str, value: float) -> bool:
        return unit == self.unit and COMPARISONS[self.comparison](value, self.value)

    def __str__(self) -> str:
        return f"{self.unit} {self.comparison} {_number(self.value)}"


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    must_fire: bool
    file: str
    line: int | None
    published: datetime | None = None
    tags: frozenset[str] | None = None
    quantities: tuple[ExpectedQuantity, ...] = ()
    deadline: datetime | None = None

    @property
    def shown(self) -> str:
        first = " ".join(self.text.split())
        return first if len(first) <= SHOWN_CHARACTERS else f"{first[:SHOWN_CHARACTERS]}..."


def read_examples(source: RuleFile, index: int, table: dict[str, Any], subject: str, units: Sequence[str],
                  problems: Problems) -> tuple[Example, ...]:
    """The `examples` and `quiet` texts of the index-th rule of `source`, validated like every other key."""
    found: list[Example] = []
    for key, must_fire in (("examples", True), ("quiet", False)):
        value = table.get(key, [])
        if not isinstance(value, list):
            problems.add(source, source.line("rule", index, key), subject,
                         f"{key}: expected a list of texts or tables such as {{ text = \"...\", tags = [...] }}")
            continue
        for number, entry in enumerate(value):
            reader = _EntryReader(source, index, subject, f"{key}[{number}]", key, units, problems)
            example = reader.read(entry, must_fire)
            if example is not None:
                found.append(example)
    return tuple(found)


class _EntryReader:
    """Reads one example entry, reporting its problems at the line that holds its text."""

    def __init__(self, source: RuleFile, index: int, subject: str, path: str, key: str, units: Sequence[str],
                 problems: Problems) -> None:
        self.source, self.index, self.subject, self.path, self.key = source, index, subject, path, key
        self.units = units
        self.problems = problems
        self.line: int | None = source.line("rule", index, key)
        self.valid = True

    def problem(self, message: str) -> None:
        self.problems.add(self.source, self.line, self.subject, f"{self.path}: {message}")
        self.valid = False

    def read(self, entry: Any, must_fire: bool) -> Example | None:
        table: dict[str, Any] = {"text": entry} if isinstance(entry, str) else entry
        if not isinstance(table, dict):
            self.problem(f"expected a text or a table with a text, got {type(entry).__name__}")
            return None
        text = table.get("text")
        if isinstance(text, str):
            self.line = self.source.string_line("rule", self.index, text, self.key)
        if not isinstance(text, str) or not text.strip():
            self.problem("needs a text (its first line is the title, the rest the summary)")
            return None
        known = EXAMPLE_KEYS if must_fire else QUIET_KEYS
        for key in table:
            if key not in known:
                hint = did_you_mean(key, known) if must_fire or key not in EXAMPLE_KEYS else \
                    " (a quiet text only has a text and a published time)"
                self.problem(f'unknown key "{key}"{hint}')
        published = self.time(table.get("published"), "published")
        deadline = self.time(table.get("deadline"), "deadline")
        if deadline is not None and published is None:
            self.problem("a deadline needs the published time it resolves against")
        tags = self.tags(table.get("tags"))
        quantities = self.quantities(table.get("quantities", []))
        if not self.valid:
            return None
        return Example(text=text, must_fire=must_fire, file=self.source.name, line=self.line, published=published,
                       tags=tags, quantities=quantities, deadline=deadline)

    def time(self, value: Any, key: str) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, date):
            return datetime(value.year, value.month, value.day, tzinfo=UTC)
        self.problem(f"{key}: expected a TOML date-time such as 2020-02-17T00:00:00Z, got {value!r}")
        return None

    def tags(self, value: Any) -> frozenset[str] | None:
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(tag, str) for tag in value):
            self.problem("tags: expected a list of tags (an empty list: no tag at all)")
            return None
        return frozenset(value)

    def quantities(self, value: Any) -> tuple[ExpectedQuantity, ...]:
        expressions = [value] if isinstance(value, str) else value
        if not isinstance(expressions, list) or not all(isinstance(item, str) for item in expressions):
            self.problem('quantities: expected expressions such as "troops == 7000"')
            return ()
        expected = []
        for expression in expressions:
            parsed = QUANTITY_EXPRESSION.match(expression)
            if not parsed:
                self.problem(f'quantities: "{expression}" is not a quantity (write e.g. "troops == 7000")')
            elif parsed["unit"] not in self.units:
                hint = did_you_mean(parsed["unit"], sorted(self.units), "known units")
                self.problem(f'quantities: unknown unit family "{parsed["unit"]}"{hint}')
            else:
                value = float(parsed["value"].replace(",", "").replace("_", ""))
                expected.append(ExpectedQuantity(parsed["unit"], parsed["op"], value))
        return tuple(expected)


def example_problems(rules: RuleSet) -> Problems:
    """Every example of every rule of `rules` that does not do what it says, worded
    `file:line: rule "id": example "text..." did not fire`."""
    problems = Problems()
    for rule in rules.rules:
        for example in rule.examples:
            for message in _failures(rules, rule, example):
                problems.add_at(example.file, example.line, f'rule "{rule.id}"', f'example "{example.shown}" {message}')
    return problems


def _failures(rules: RuleSet, rule: Rule, example: Example) -> list[str]:
    matches = rules.match(_item_in_scope(rule, example))
    own = next((match for match in matches if match.rule == rule.id), None)
    if not example.must_fire:
        if own is not None:
            return [f"fired but must stay quiet (evidence: {_evidence(own)})"]
        others = [match for match in matches if set(match.tags) & set(rule.tags)]
        return [f'fired rule "{match.rule}" (tags: {", ".join(match.tags)}) but must stay quiet'
                for match in others]
    if own is None:
        return ["did not fire"]
    failures = []
    if example.tags is not None:
        given = {tag for match in matches for tag in match.tags}
        if given != example.tags:
            failures.append(f"gave tags [{', '.join(sorted(given))}], expected [{', '.join(sorted(example.tags))}]")
    for expected in example.quantities:
        if not any(expected.holds(found.unit, found.value) for found in own.quantities):
            read = ", ".join(f"{found.unit} {_number(found.value)}" for found in own.quantities) or "none"
            failures.append(f"has no quantity {expected} (read: {read})")
    if example.deadline is not None:
        at = own.deadline.at if own.deadline else None
        if at != example.deadline:
            read = at.isoformat().replace("+00:00", "Z") if at else "none"
            failures.append(f"has deadline {read}, expected {example.deadline.isoformat().replace('+00:00', 'Z')}")
    return failures


def _item_in_scope(rule: Rule, example: Example) -> Item:
    """The example as an item from a feed the rule reads, in a language it reads."""
    item = document_item(example.text, "example", example.published or _FALLBACK_TIME)
    names = [feed for feed in rule.feeds if not feed.startswith("tag:")]
    tags = tuple(feed.removeprefix("tag:") for feed in rule.feeds if feed.startswith("tag:"))
    return replace(item, feed=names[0] if names else item.feed, feed_tags=tags,
                   language=rule.languages[0] if rule.languages else None)


def _evidence(match: Match) -> str:
    return ", ".join(f'"{found.text}"' for found in match.evidence[:3]) or "none"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
