"""RE2 Sets over every pattern of every rule: a linear pass over an item says which patterns occur, so only the
rules with a hit get their positional checks.

The patterns are split into Sets of at most SET_SIZE. RE2 builds a Set's DFA lazily, one state per combination of
partial matches it meets, and one Set of all 1,600 patterns of the default pack meets new combinations in almost
every real headline: 4.4 ms of CPU per item cold, still 1.1 ms after 900 items (docs/performance.md). Sets of 400
have far fewer combinations to build: 2.1 ms cold, 0.4 ms after 900, and the same hits."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import re2

from tocsin.matching.terms import RE2_OPTIONS, loose

SET_SIZE = 400
"""Patterns per RE2 Set, measured on the 3,735 peerbench headlines: for the default pack 100-200 cost least (1.2 ms
an item cold), but each Set is one more pass over every item, and with 10,000 more rules Sets of 100 matched 276
items/s against 618 for one Set; 400 is better than one Set for both (665 items/s with the 10,000)."""


class Prefilter:
    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns: tuple[str, ...] = tuple(dict.fromkeys(patterns))
        self._sets: list[tuple[tuple[str, ...], Any]] = []
        for start in range(0, len(self.patterns), SET_SIZE):
            chunk = self.patterns[start:start + SET_SIZE]
            searched = re2.Set.SearchSet(RE2_OPTIONS)
            for pattern in chunk:
                searched.Add(loose(pattern))
            searched.Compile()
            self._sets.append((chunk, searched))

    def hits(self, text: str) -> frozenset[str]:
        """The patterns that may occur in `text` (a superset: boundaries are checked positionally later)."""
        # re2.Set.Match answers None, not an empty list, when nothing matched.
        return frozenset(chunk[index] for chunk, searched in self._sets for index in searched.Match(text) or ())
