"""The condition tree of a rule and its evaluation against one item.

Each node says which prefilter patterns it needs (`patterns`), whether it can only be true when one of them hit
(`anchored`), and evaluates to the evidence it found, or None when it is false. `any` keeps the evidence of every
true branch (an analyst wants to see all of it), `all` stops at the first false branch.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property

from tocsin.items import Item
from tocsin.matching.deadlines import DeadlinePhrase, find_deadlines
from tocsin.matching.gazetteer import GazetteerEntry
from tocsin.matching.model import Deadline, Evidence, Field, Quantity
from tocsin.matching.numbers import NumberPhrase, after_year_word, find_numbers
from tocsin.matching.quantities import COMPARISONS, FoundQuantity, UnitFamily, extract
from tocsin.matching.terms import bounded, find_all, lowered, term_body
from tocsin.matching.text import BREAKS, FieldText

# Words without which no deadline phrase can be present; the prefilter needs something to look for.
DEADLINE_CUE = bounded("by|before|until|till|within|deadline|ultimatum|no later than")
# A year of the last three centuries, as digits ("1982", "the 1990s"); RE2's ASCII \b is right for digits.
YEAR_PATTERN = r"\b(?:18|19|20)\d\d(?:s|'s|’s)?\b"
# A hedge ("could", "denies") qualifies the words after it up to the end of its clause, not across a comma.
CLAUSE_BREAKS = BREAKS | frozenset(",–—")
_BEFORE_A_WORD = re.compile(r" \w")


@dataclass(slots=True)
class Hits:
    evidence: list[Evidence] = field(default_factory=list)
    quantities: list[Quantity] = field(default_factory=list)
    deadlines: list[Deadline] = field(default_factory=list)

    def extend(self, other: Hits) -> None:
        self.evidence.extend(other.evidence)
        self.quantities.extend(other.quantities)
        self.deadlines.extend(other.deadlines)


class ItemContext:
    """One item being matched: which prefilter patterns hit, and positions found so far (computed once)."""

    def __init__(self, item: Item, hit_patterns: frozenset[str], reference_time: datetime) -> None:
        self.item = item
        self.hit_patterns = hit_patterns
        self.reference_time = reference_time
        self.fields = (FieldText("title", item.title), FieldText("summary", item.summary))
        # Searched once as one text (the prefilter saw the same), then split: half the searches of two fields.
        self.joined = f"{item.title}\n{item.summary}"
        self._lower = lowered(self.joined)
        self._summary_offset = len(item.title) + 1
        self._spans: dict[str, list[tuple[FieldText, int, int]]] = {}
        self._quantities: dict[str, list[FoundQuantity]] = {}
        self._numbers: dict[str, list[NumberPhrase]] = {}
        self.scope: Field | None = None
        """The one field a condition looks at (`in = "title"`), or None for both."""

    def within(self, scope: Field) -> ItemContext:
        """The same item seen through one field: the caches are shared (they hold both fields), what they give
        out is filtered."""
        view = copy.copy(self)
        view.scope = scope
        return view

    def spans(self, pattern: str) -> list[tuple[FieldText, int, int]]:
        if pattern not in self.hit_patterns:
            return []
        found = self._all_spans(pattern)
        return found if self.scope is None else [span for span in found if span[0].field == self.scope]

    def _all_spans(self, pattern: str) -> list[tuple[FieldText, int, int]]:
        cached = self._spans.get(pattern)
        if cached is None:
            title, summary = self.fields
            offset = self._summary_offset
            cached = []
            for start, end in find_all(pattern, self.joined, self._lower):
                if end < offset:
                    cached.append((title, start, end))
                elif start >= offset:
                    cached.append((summary, start - offset, end - offset))
            self._spans[pattern] = cached
        return cached

    def numbers(self, text: FieldText) -> list[NumberPhrase]:
        """The numbers of one field, read once, and only for a field that a quantity condition needs."""
        found = self._numbers.get(text.field)
        if found is None:
            found = self._numbers[text.field] = find_numbers(text.text)
        return found

    def quantities(self, family: UnitFamily) -> list[FoundQuantity]:
        cached = self._quantities.get(family.name)
        if cached is None:
            # A field without a unit word of the family holds no quantity of it: its numbers need not be read.
            cached = [
                found for text in self.fields if any(text.spans(pattern) for pattern in family.patterns)
                for found in extract(family, text, self.numbers(text))
            ]
            self._quantities[family.name] = cached
        return cached if self.scope is None else [found for found in cached if found.evidence.field == self.scope]

    @property
    def deadlines(self) -> list[tuple[FieldText, DeadlinePhrase]]:
        found = self._all_deadlines
        return found if self.scope is None else [deadline for deadline in found if deadline[0].field == self.scope]

    @cached_property
    def _all_deadlines(self) -> list[tuple[FieldText, DeadlinePhrase]]:
        return [(text, phrase) for text in self.fields for phrase in find_deadlines(text.text, self.reference_time)]


def _evidence(text: FieldText, start: int, end: int) -> Evidence:
    return Evidence(field=text.field, start=start, end=end, text=text.text[start:end])


class Condition:
    cost: float = 1
    """Relative cost of evaluating; `all` evaluates its cheap children first and stops at the first false one."""

    def anchored(self) -> bool:
        """True when the condition can only hold if one of its patterns hit the prefilter."""
        return True

    def patterns(self) -> Iterator[str]:
        """Every pattern the condition searches for (all go into the prefilter Set)."""
        raise NotImplementedError

    def possible(self, hits: frozenset[str]) -> bool:
        """Whether the condition can be true given the prefilter's hits: a cheap test on sets, before any
        positional search."""
        return not hits.isdisjoint(self.pattern_set)

    @cached_property
    def pattern_set(self) -> frozenset[str]:
        return frozenset(self.patterns())

    def index_patterns(self) -> frozenset[str] | None:
        """A set of patterns of which at least one must occur for the condition to hold, as selective as the
        structure allows (the rule index files a rule under these only); None when there is no such set."""
        return self.pattern_set if self.anchored() else None

    def evaluate(self, context: ItemContext) -> Hits | None:
        raise NotImplementedError


class Terms(Condition):
    """Any of these terms."""

    def __init__(self, terms: tuple[str, ...]) -> None:
        self.terms = terms
        self.term_patterns = tuple(dict.fromkeys(bounded(term_body(term)) for term in terms))
        self.term_set = frozenset(self.term_patterns)

    def patterns(self) -> Iterator[str]:
        yield from self.term_patterns

    def possible(self, hits: frozenset[str]) -> bool:
        return not hits.isdisjoint(self.term_set)

    def index_patterns(self) -> frozenset[str] | None:
        return self.term_set

    def spans(self, context: ItemContext) -> list[tuple[FieldText, int, int]]:
        # Only the patterns the prefilter saw can occur; a context list of 100 terms usually has one or two.
        candidates = self.term_set & context.hit_patterns
        return [span for pattern in candidates for span in context.spans(pattern)]

    def evaluate(self, context: ItemContext) -> Hits | None:
        # A list of alternatives is satisfied by its first occurrence in reading order, and that is the evidence:
        # listing every "troops" and "war" of a context list would bury the phrases that decided the match.
        spans = self.spans(context)
        if not spans:
            return None
        first = min(spans, key=lambda span: (span[0].field != "title", span[1]))
        return Hits(evidence=[_evidence(*first)])


class Starts(Terms):
    """One of the terms at the very start of a field, before any other word: the title prefixes of opinion and
    analysis ("Analysis: ...", "Opinion | ...", "Explainer - ...")."""

    def spans(self, context: ItemContext) -> list[tuple[FieldText, int, int]]:
        return [span for span in super().spans(context)
                if not any(char.isalnum() for char in span[0].text[: span[1]])]


class Hedges:
    """Words that make what follows them a possibility, a threat, a fear or a denial rather than a report ("could
    strike", "threatens to invade", "denies shooting down", "no casualties"): they qualify a span when they stand
    inside it, or end at most `words` words before it in the same clause."""

    def __init__(self, terms: Terms, words: int) -> None:
        self.terms = terms
        self.words = words

    def qualify(self, context: ItemContext, text: FieldText, start: int, end: int) -> bool:
        for other, hedge_start, hedge_end in self.terms.spans(context):
            if other is not text:
                continue
            if start <= hedge_start and hedge_end <= end and (hedge_start, hedge_end) != (start, end):
                return True
            if hedge_end <= start and text.words_between(hedge_end, start) <= self.words and \
                    not text.has_break(hedge_end, start, CLAUSE_BREAKS):
                return True
        return False


class Asserted(Terms):
    """Any of these terms, where no hedge qualifies it: `asserted = { terms = [...], unless = [...] }`."""

    def __init__(self, terms: tuple[str, ...], hedges: Hedges) -> None:
        super().__init__(terms)
        self.hedges = hedges

    def patterns(self) -> Iterator[str]:
        yield from self.term_patterns
        yield from self.hedges.terms.patterns()

    def spans(self, context: ItemContext) -> list[tuple[FieldText, int, int]]:
        return [span for span in super().spans(context) if not self.hedges.qualify(context, *span)]


class Regex(Condition):
    """An RE2 regular expression (the escape hatch); evidence is the whole match."""

    cost = 2

    def __init__(self, regexes: tuple[str, ...]) -> None:
        self.regex_patterns = regexes

    def patterns(self) -> Iterator[str]:
        yield from self.regex_patterns

    def evaluate(self, context: ItemContext) -> Hits | None:
        spans = [span for pattern in self.regex_patterns for span in context.spans(pattern)]
        return Hits(evidence=[_evidence(*span) for span in spans]) if spans else None


class Near(Condition):
    """A term of `a` within `words` words of a term of `b` (either order, or `a` first when `ordered`), or in the
    same sentence; with `hedges`, only a pair that no hedge qualifies."""

    cost = 3

    def __init__(self, a: Terms, b: Terms, words: int | None, ordered: bool = False,
                 hedges: Hedges | None = None) -> None:
        self.a = a
        self.b = b
        self.words = words
        self.ordered = ordered
        self.hedges = hedges

    def patterns(self) -> Iterator[str]:
        yield from self.a.patterns()
        yield from self.b.patterns()
        if self.hedges:
            yield from self.hedges.terms.patterns()

    def _close(self, text: FieldText, first: tuple[int, int], second: tuple[int, int]) -> bool:
        if self.ordered and first[0] >= second[0]:
            return False
        if self.words is None:
            return text.sentence_of(first[0]) == text.sentence_of(second[0])
        left, right = sorted((first, second))
        return text.words_between(left[1], right[0]) <= self.words

    def possible(self, hits: frozenset[str]) -> bool:
        return self.a.possible(hits) and self.b.possible(hits)

    def index_patterns(self) -> frozenset[str] | None:
        return min(self.a.term_set, self.b.term_set, key=len)

    def evaluate(self, context: ItemContext) -> Hits | None:
        hits: dict[tuple[str, int, int], Evidence] = {}
        b_spans = self.b.spans(context)
        for text, a_start, a_end in self.a.spans(context):
            for other, b_start, b_end in b_spans:
                if other is text and (a_start, a_end) != (b_start, b_end) and \
                        self._close(text, (a_start, a_end), (b_start, b_end)) and not (
                            self.hedges and self.hedges.qualify(
                                context, text, min(a_start, b_start), max(a_end, b_end))):
                    for start, end in ((a_start, a_end), (b_start, b_end)):
                        hits[(text.field, start, end)] = _evidence(text, start, end)
        return Hits(evidence=sorted(hits.values(), key=lambda e: (e.field != "title", e.start))) if hits else None


class QuantityCondition(Condition):
    """A quantity of a unit family compared with a threshold: `troops >= 1000`."""

    cost = 4

    def __init__(self, family: UnitFamily, comparison: str, threshold: float) -> None:
        self.family = family
        self.compare = COMPARISONS[comparison]
        self.threshold = threshold

    def patterns(self) -> Iterator[str]:
        yield from self.family.patterns
        if self.family.near_pattern:
            yield self.family.near_pattern

    def possible(self, hits: frozenset[str]) -> bool:
        # A unit word must occur, and so must a `near` word when the family asks for one ("killed" for killed):
        # reading every number of an item about "people" is the most expensive check there is.
        near = self.family.near_pattern
        return not hits.isdisjoint(self.family.patterns) and (near is None or near in hits)

    def index_patterns(self) -> frozenset[str] | None:
        near = self.family.near_pattern
        return frozenset((near,)) if near else frozenset(self.family.patterns)

    def evaluate(self, context: ItemContext) -> Hits | None:
        found = [q for q in context.quantities(self.family) if self.compare(q.quantity.value, self.threshold)]
        if not found:
            return None
        return Hits(evidence=[q.evidence for q in found], quantities=[q.quantity for q in found])


class DeadlineCondition(Condition):
    """A deadline phrase that resolves to a time (`by the end of the month`, `within 48 hours`, ...)."""

    cost = 5

    def patterns(self) -> Iterator[str]:
        yield DEADLINE_CUE

    def evaluate(self, context: ItemContext) -> Hits | None:
        if not context.deadlines:
            return None
        return Hits(
            evidence=[_evidence(text, phrase.start, phrase.end) for text, phrase in context.deadlines],
            deadlines=[Deadline(at=phrase.at, text=phrase.text) for _, phrase in context.deadlines],
        )


class OldYear(Condition):
    """A year at least `years` years before the item's publication ("1982", "in 1994", "the 1990s"): a look back,
    not news. Four digits count as a year after a word of dates ("in", "since", a month), before punctuation or
    the end of the text, or as a decade; "2000 troops" is a count."""

    def __init__(self, years: int) -> None:
        self.years = years

    def patterns(self) -> Iterator[str]:
        yield YEAR_PATTERN

    def evaluate(self, context: ItemContext) -> Hits | None:
        latest = context.reference_time.year - self.years
        found = []
        for text, start, end in context.spans(YEAR_PATTERN):
            if int(text.text[start : start + 4]) > latest:
                continue
            decade = end - start > 4
            counted = _BEFORE_A_WORD.match(text.text, end) is not None
            if decade or after_year_word(text.text, start) or not counted:
                found.append(_evidence(text, start, end))
        return Hits(evidence=found) if found else None


class InField(Condition):
    """A condition that looks at one field only: `in = "title"`."""

    def __init__(self, child: Condition, scope: Field) -> None:
        self.child = child
        self.scope = scope
        self.cost = child.cost

    def anchored(self) -> bool:
        return self.child.anchored()

    def patterns(self) -> Iterator[str]:
        yield from self.child.patterns()

    def possible(self, hits: frozenset[str]) -> bool:
        return self.child.possible(hits)

    def index_patterns(self) -> frozenset[str] | None:
        return self.child.index_patterns()

    def evaluate(self, context: ItemContext) -> Hits | None:
        return self.child.evaluate(context.within(self.scope))


class Watchlist(Condition):
    """One of the places (or actors) of a gazetteer watchlist is mentioned."""

    def __init__(self, entries: tuple[GazetteerEntry, ...]) -> None:
        self.entries = entries

    def patterns(self) -> Iterator[str]:
        for entry in self.entries:
            yield entry.pattern

    def evaluate(self, context: ItemContext) -> Hits | None:
        spans = [span for entry in self.entries for span in context.spans(entry.pattern)]
        return Hits(evidence=[_evidence(*span) for span in spans]) if spans else None


class Group(Condition):
    def __init__(self, children: tuple[Condition, ...]) -> None:
        self.children = children
        self.cost = max(child.cost for child in children)

    def patterns(self) -> Iterator[str]:
        for child in self.children:
            yield from child.patterns()


class All(Group):
    def __init__(self, children: tuple[Condition, ...]) -> None:
        super().__init__(tuple(sorted(children, key=lambda child: child.cost)))

    def anchored(self) -> bool:
        return any(child.anchored() for child in self.children)

    def possible(self, hits: frozenset[str]) -> bool:
        return all(child.possible(hits) for child in self.children)

    def index_patterns(self) -> frozenset[str] | None:
        # One branch suffices, since every branch must hold: the one with the fewest patterns, and never the
        # deadline cue ("by", "until" are in most texts) when there is another.
        choices = [
            (isinstance(child, DeadlineCondition), len(patterns), patterns)
            for child in self.children if (patterns := child.index_patterns()) is not None
        ]
        return min(choices, key=lambda choice: choice[:2])[2] if choices else None

    def evaluate(self, context: ItemContext) -> Hits | None:
        hits = Hits()
        for child in self.children:
            found = child.evaluate(context)
            if found is None:
                return None
            hits.extend(found)
        return hits


class Any(Group):
    def anchored(self) -> bool:
        return all(child.anchored() for child in self.children)

    def possible(self, hits: frozenset[str]) -> bool:
        return any(child.possible(hits) for child in self.children)

    def index_patterns(self) -> frozenset[str] | None:
        union: frozenset[str] = frozenset()
        for child in self.children:
            branch = child.index_patterns()
            if branch is None:
                return None
            union |= branch
        return union

    def evaluate(self, context: ItemContext) -> Hits | None:
        hits: Hits | None = None
        for child in self.children:
            # Every branch is evaluated for its evidence, but one the prefilter rules out costs nothing.
            if not child.possible(context.hit_patterns):
                continue
            found = child.evaluate(context)
            if found is not None:
                hits = hits or Hits()
                hits.extend(found)
        return hits


class NoneOf(Group):
    def __init__(self, children: tuple[Condition, ...]) -> None:
        super().__init__(children)
        # Usually true, so it goes after the positive conditions of the same cost; but before dearer ones: when
        # the prefilter saw none of its terms it costs nothing, and when it did ("rallied the troops",
        # "budget"), it spares the number reading and deadline parsing that the item would not need.
        self.cost = max(child.cost for child in children) + 0.5

    def anchored(self) -> bool:
        return False

    def possible(self, hits: frozenset[str]) -> bool:
        return True

    def evaluate(self, context: ItemContext) -> Hits | None:
        found = any(child.possible(context.hit_patterns) and child.evaluate(context) is not None
                    for child in self.children)
        return None if found else Hits()
