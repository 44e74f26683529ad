"""Quantities: a news number attached to a unit family (troops, vehicles, killed, displaced, ...).

Unit families are data from the rule files (`[[unit]]` in rules/units.toml). A number belongs to a family when one
of the family's `after` terms follows it within `gap` words (`7000 Turkish troops`, `2100 military vehicles`,
`800,000 to flee`), or one of its `before` terms directly precedes it (`death toll rose to 20`), with no clause
punctuation or other number in between; when the family lists `near` terms, one of them must also lie
within `window` words of the number (`killed 13 Turkish troops`: `troops` follows, `killed` is near).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from tocsin.matching.model import Evidence, Quantity
from tocsin.matching.numbers import NumberPhrase, find_numbers
from tocsin.matching.terms import bounded, term_body
from tocsin.matching.text import FieldText

COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq,
}
QUANTITY_EXPRESSION = re.compile(
    r"^\s*(?P<unit>[\w-]+)\s*(?P<op>>=|<=|==|>|<)\s*(?P<value>\d[\d,_]*(?:\.\d+)?)\s*$"
)
"""`troops >= 1000`: a unit family, a comparison and a number, as quantity conditions and examples write them."""


@dataclass(frozen=True)
class UnitFamily:
    name: str
    after: tuple[str, ...] = ()
    before: tuple[str, ...] = ()
    near: tuple[str, ...] = ()
    gap: int = 3
    window: int = 8

    @cached_property
    def after_pattern(self) -> str | None:
        return _alternation(self.after)

    @cached_property
    def before_pattern(self) -> str | None:
        return _alternation(self.before)

    @cached_property
    def near_pattern(self) -> str | None:
        return _alternation(self.near)

    @property
    def patterns(self) -> tuple[str, ...]:
        """The patterns whose presence can make this family appear (for the prefilter)."""
        return tuple(p for p in (self.after_pattern, self.before_pattern) if p)


def _alternation(terms: tuple[str, ...]) -> str | None:
    return bounded("|".join(term_body(term) for term in terms)) if terms else None


@dataclass(frozen=True, slots=True)
class FoundQuantity:
    quantity: Quantity
    evidence: Evidence


def _attached(family: UnitFamily, field: FieldText, number: NumberPhrase, numbers: list[NumberPhrase]) -> \
        tuple[int, int] | None:
    """The character span of number plus unit word, or None when the number is not of this family."""
    def clear(start: int, end: int) -> bool:
        return (
            field.words_between(start, end) <= family.gap
            and not field.has_break(start, end)
            and not any(start <= other.start < end for other in numbers)
        )

    after = family.after_pattern
    if after:
        for start, end in field.spans(after):
            if start >= number.end:
                if clear(number.end, start):
                    return number.start, end
                break
    before = family.before_pattern
    if before:
        spans = [span for span in field.spans(before) if span[1] <= number.start]
        # Directly before: in "killed and a dozen wounded" the dozen are not the dead.
        if spans and field.words_between(spans[-1][1], number.start) == 0 and clear(spans[-1][1], number.start):
            return spans[-1][0], number.end
    return None


def _near(family: UnitFamily, field: FieldText, span: tuple[int, int], numbers: list[NumberPhrase]) -> bool:
    near = family.near_pattern
    if not near:
        return True
    for start, end in field.spans(near):
        between = (end, span[0]) if end <= span[0] else (span[1], start)
        if (
            field.words_between(*between) <= family.window
            and field.sentence_of(start) == field.sentence_of(span[0])
            # "1 million people, causing 800,000 to flee": the flight belongs to the nearer number.
            and not any(between[0] <= other.start < between[1] for other in numbers)
        ):
            return True
    return False


def extract(family: UnitFamily, field: FieldText, numbers: list[NumberPhrase] | None = None) -> list[FoundQuantity]:
    """Every quantity of `family` in one field of an item."""
    numbers = find_numbers(field.text) if numbers is None else numbers
    found = []
    for number in numbers:
        span = _attached(family, field, number, numbers)
        if span is None or not _near(family, field, span, numbers):
            continue
        text = field.text[span[0] : span[1]]
        found.append(FoundQuantity(
            Quantity(unit=family.name, value=number.value, qualifier=number.qualifier, text=text),
            Evidence(field=field.field, start=span[0], end=span[1], text=text),
        ))
    return found
