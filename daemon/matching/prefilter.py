"""One RE2 Set over every pattern of every rule: a single linear pass over an item says which patterns occur,
so only the rules with a hit get their positional checks. Cost per item grows with the text, barely with the
number of rules (shared/notes/libraries.md: 10,000 patterns at ~55k items/s)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import re2

from tocsin.matching.terms import RE2_OPTIONS, loose


class Prefilter:
    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns: tuple[str, ...] = tuple(dict.fromkeys(patterns))
        self._set: Any = None
        if self.patterns:
            self._set = re2.Set.SearchSet(RE2_OPTIONS)
            for pattern in self.patterns:
                self._set.Add(loose(pattern))
            self._set.Compile()

    def hits(self, text: str) -> frozenset[str]:
        """The patterns that may occur in `text` (a superset: boundaries are checked positionally later)."""
        if self._set is None:
            return frozenset()
        # re2.Set.Match answers None, not an empty list, when nothing matched.
        return frozenset(self.patterns[index] for index in self._set.Match(text) or ())
