"""One field of an item seen as words and sentences, so that conditions can count words between two hits."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from functools import cached_property

from tocsin.matching.model import Field
from tocsin.matching.terms import find_all, lowered

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*")
# A sentence ends at . ! ? followed by space, or at a line break; "U.S. troops" splits too, which only makes
# `within = "sentence"` a little stricter.
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)]*\s+|\n+")
BREAKS = frozenset(".;:!?()[]\n")


class FieldText:
    def __init__(self, field: Field, text: str) -> None:
        self.field = field
        self.text = text
        self._spans: dict[str, list[tuple[int, int]]] = {}

    def spans(self, pattern: str) -> list[tuple[int, int]]:
        """Where a term pattern occurs in this field (searched once per field)."""
        found = self._spans.get(pattern)
        if found is None:
            found = self._spans[pattern] = list(find_all(pattern, self.text, self.lower))
        return found

    @cached_property
    def lower(self) -> str | None:
        return lowered(self.text)

    @cached_property
    def word_starts(self) -> list[int]:
        return [found.start() for found in _WORD.finditer(self.text)]

    @cached_property
    def sentence_ends(self) -> list[int]:
        return [found.end() for found in _SENTENCE_END.finditer(self.text)]

    def words_between(self, end: int, start: int) -> int:
        """How many words lie between character offset `end` (of one hit) and `start` (of a later hit)."""
        if start <= end:
            return 0
        return max(0, bisect_left(self.word_starts, start) - bisect_left(self.word_starts, end))

    def sentence_of(self, offset: int) -> int:
        return bisect_right(self.sentence_ends, offset)

    def has_break(self, start: int, end: int, breaks: frozenset[str] = BREAKS) -> bool:
        """Whether sentence or clause punctuation lies between two offsets."""
        return any(char in breaks for char in self.text[start:end])
