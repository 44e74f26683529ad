"""A loaded, compiled rule set: `load_rules(paths)` validates and compiles, `RuleSet.match(item)` matches."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from tocsin.items import Item
from tocsin.matching.conditions import ItemContext
from tocsin.matching.gazetteer import Gazetteer
from tocsin.matching.load import LoadedRules, Rule, load
from tocsin.matching.model import Evidence, Match
from tocsin.matching.prefilter import Prefilter
from tocsin.matching.text import FieldText

_Span = tuple[str, int, int]
"""Field, start and end of a mention."""
MAX_SCANNED_CHARS = 4000
"""Matching reads at most this much of a title and of a summary (cut at the last space before it). A summary is a
paragraph or two (nine in ten entries of the sample feeds have under 1,700 characters), and the prefilter's cost
grows with the text: a full article pasted into a summary (3,000 words, about 19,000 characters) would cost five
summaries, and with a rule of 10,000 terms seconds of CPU per item."""


class RuleSet:
    def __init__(self, loaded: LoadedRules | None = None) -> None:
        loaded = loaded or LoadedRules((), {}, Gazetteer(), ())
        self.rules = loaded.rules
        self.sources = loaded.files
        self.gazetteer = loaded.gazetteer
        self._rules_by_pattern: dict[str, list[int]] = defaultdict(list)
        self._always: list[int] = []
        for index, rule in enumerate(self.rules):
            index_patterns = rule.condition.index_patterns()
            if index_patterns is None:
                self._always.append(index)
            else:
                for pattern in index_patterns:
                    self._rules_by_pattern[pattern].append(index)
        self._entry_patterns = {entry.pattern: (order, entry) for order, entry in enumerate(self.gazetteer.entries)}
        searched = (pattern for rule in self.rules for pattern in rule.condition.patterns())
        self.prefilter = Prefilter([*searched, *self._entry_patterns])

    def __len__(self) -> int:
        return len(self.rules)

    def candidates(self, hits: frozenset[str]) -> list[Rule]:
        """The rules that can fire given the prefilter's hits: indexed by the patterns that can make them true,
        then checked against all of their conditions at once (`all` needs a hit in each branch)."""
        indexes = set(self._always)
        for pattern in hits:
            indexes.update(self._rules_by_pattern.get(pattern, ()))
        return [rule for index in sorted(indexes) if (rule := self.rules[index]).condition.possible(hits)]

    def match(self, item: Item, now: datetime | None = None) -> list[Match]:
        """Every rule that fires on `item`, in rule-file order. Deadlines resolve against the item's publication
        time, else `now`, else the current time."""
        item = scanned_part(item)
        hits = self.prefilter.hits(f"{item.title}\n{item.summary}")
        candidates = [rule for rule in self.candidates(hits) if rule.in_scope(item)]
        if not candidates:
            return []
        reference = item.published or now or item.fetched_at or datetime.now(UTC)
        context = ItemContext(item, hits, reference)
        matches = []
        mentions: _Mentions | None = None
        for rule in candidates:
            found = rule.condition.evaluate(context)
            if found is None:
                continue
            if mentions is None:
                mentions = self._mentions(context)
            evidence = tuple(sorted(set(found.evidence), key=_reading_order))
            places, actors = mentions.near(evidence)
            matches.append(Match(
                rule=rule.id, title=rule.title, severity=rule.severity, tags=rule.tags,
                evidence=evidence,
                quantities=tuple(dict.fromkeys(found.quantities)),
                deadline=found.deadlines[0] if found.deadlines else None, places=places, actors=actors,
                description=rule.description, alert=rule.alert,
            ))
        return matches

    def _mentions(self, context: ItemContext) -> _Mentions:
        """Where the item mentions each gazetteer place and actor."""
        spans_by_kind: dict[str, list[tuple[int, str, list[_Span]]]] = {"place": [], "actor": []}
        for pattern in context.hit_patterns & self._entry_patterns.keys():
            order, entry = self._entry_patterns[pattern]
            spans: list[_Span] = [(text.field, start, end) for text, start, end in context.spans(pattern)]
            if spans:
                spans_by_kind[entry.kind].append((order, entry.name, spans))
        return _Mentions(spans_by_kind["place"], spans_by_kind["actor"], context.fields[1])


class _Mentions:
    """The places and actors of one item, and which of them a match's evidence is about.

    A match is about the places and actors named in the title and in the sentences that hold its evidence (and,
    for such a sentence that names no place, the one before it, where pronouns find their names): in a
    report that names Aleppo, Idlib and Hama, the shootdown "in Idlib" is Idlib's, not Hama's. When those
    sentences name none, the match is about every place and actor of the item. A country can be both a place and
    an actor, but one word of the text is reported once: as a place when a place entry names it ("Ukraine"), as
    an actor only through words that name no place ("Ukrainian", "Zelensky")."""

    def __init__(
        self, places: list[tuple[int, str, list[_Span]]], actors: list[tuple[int, str, list[_Span]]], summary: FieldText
    ) -> None:
        self.places = places
        self.actors = actors
        self.summary = summary
        self.taken = frozenset(span for _, _, spans in places for span in spans)
        self.sentences_naming_a_place = frozenset(
            summary.sentence_of(start) for _, _, spans in places for field, start, _ in spans if field == "summary"
        )

    def near(self, evidence: tuple[Evidence, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
        sentence_of = self.summary.sentence_of
        sentences = {sentence_of(found.start) for found in evidence if found.field == "summary"}
        # An evidence sentence that names no place leans on the one before: "... attacks in the Idlib region.
        # Ankara vowed to drive them back unless they withdraw by the end of the month" is about Idlib.
        sentences |= {sentence - 1 for sentence in sentences if sentence not in self.sentences_naming_a_place}

        def close(span: _Span) -> bool:
            field, start, _ = span
            return field == "title" or sentence_of(start) in sentences

        places = _first_mentions(self.places, frozenset(), close)
        actors = _first_mentions(self.actors, self.taken, close)
        if places or actors:
            return places, actors
        return _first_mentions(self.places, frozenset()), _first_mentions(self.actors, self.taken)


def _first_mentions(
    entries: list[tuple[int, str, list[_Span]]], taken: frozenset[_Span], keep: Callable[[_Span], bool] = bool
) -> tuple[str, ...]:
    """Entry names in order of their first kept mention outside `taken` (title first, ties in gazetteer order)."""
    mentions = []
    for order, name, spans in entries:
        own = [span for span in spans if span not in taken and keep(span)]
        if own:
            field, start, _ = min(own, key=lambda span: (span[0] != "title", span[1]))
            mentions.append((field != "title", start, order, name))
    return tuple(dict.fromkeys(name for *_, name in sorted(mentions)))


def scanned_part(item: Item) -> Item:
    """The item as matching sees it: title and summary cut to MAX_SCANNED_CHARS. A prefix, so evidence offsets
    hold for the whole item too."""
    if len(item.title) <= MAX_SCANNED_CHARS and len(item.summary) <= MAX_SCANNED_CHARS:
        return item
    return replace(item, title=_cut(item.title), summary=_cut(item.summary))


def _cut(text: str) -> str:
    if len(text) <= MAX_SCANNED_CHARS:
        return text
    space = text.rfind(" ", 0, MAX_SCANNED_CHARS + 1)
    return text[: space if space > 0 else MAX_SCANNED_CHARS]


def _reading_order(evidence: Evidence) -> tuple[bool, int, int]:
    return evidence.field != "title", evidence.start, evidence.end


def load_rules(paths: Sequence[Path]) -> RuleSet:
    """Load, validate and compile every rule file under `paths`; raise RuleError listing every problem."""
    return RuleSet(load(paths))
