"""Terms as analysts write them, compiled to RE2 patterns with word boundaries that work for any script.

A term is one or more words: `helicopter`, `shot down`, `shoot* down`. Matching is case-insensitive and on whole
words; a trailing `*` on a word stands for any word characters (`down*` = down, downed, downing; `shoot*` =
shoot, shoots, shooting). Words of a phrase may be separated by spaces or hyphens in the text (`shot-down`).

RE2's `\\b` only knows ASCII letters, so `\\bIdleb\\b` would fail next to `é`. The boundary here is a character
that is not a letter, digit or underscore in Unicode terms, or the start/end of the text. That boundary consumes
a character, so occurrences are found with a search loop that restarts on the boundary (see `find_all`).
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import re2

WORD_CHARS = r"\pL\pN\pM_"
LEFT = rf"(?:^|[^{WORD_CHARS}])"
RIGHT = rf"(?:$|[^{WORD_CHARS}])"
_WORD_TAIL = rf"[{WORD_CHARS}]*"
_SEPARATOR = r"[\s\-‐‑–]+"
# Letters, digits, apostrophes and the wildcard; anything else in a term is a typo or belongs in `regex`.
_ALLOWED_PUNCTUATION = frozenset("*'’.&-")

RE2_OPTIONS: Any = re2.Options()
# The default budget (8 MB) cannot compile thousands of patterns into one Set, and 16-32 MB thrashes
# (shared/notes/libraries.md); 256 MB is a ceiling RE2 may use, not memory it takes up front.
RE2_OPTIONS.max_mem = 256 << 20


class TermError(ValueError):
    """A term that cannot be compiled; the message says why, for the rule validator."""


def term_problem(term: str) -> str | None:
    """Why `term` is not a valid term, or None."""
    words = term.split()
    if not words:
        return "empty term"
    for word in words:
        body = word.rstrip("*")
        if not body:
            return f"term {term!r}: a wildcard needs at least one letter before it"
        if "*" in body:
            return f"term {term!r}: `*` is only allowed at the end of a word (write a `regex` for more)"
        bad = [char for char in body if not (char.isalnum() or char in _ALLOWED_PUNCTUATION)]
        if bad:
            return f"term {term!r}: character {bad[0]!r} is not allowed in a term (use `regex` for patterns)"
    return None


def term_body(term: str) -> str:
    """The RE2 pattern of a term without boundaries."""
    problem = term_problem(term)
    if problem:
        raise TermError(problem)
    parts = []
    for word in term.split():
        wildcard = word.endswith("*")
        literal = re2.escape(word.rstrip("*"))
        parts.append(literal + (_WORD_TAIL if wildcard else ""))
    return _SEPARATOR.join(parts)


def bounded(body: str) -> str:
    """A case-insensitive pattern that matches `body` as whole words; group 1 is the words themselves."""
    return f"(?i){LEFT}({body}){RIGHT}"


def loose(pattern: str) -> str:
    """The prefilter form of a pattern: a `bounded` term loses its boundaries and word tails, which makes it a
    superset (the positional check restores them). Unicode classes cost RE2 about 1 ms per pattern to add to a
    Set and as much again to compile; without them 10,000 terms compile in well under a second."""
    head, tail = f"(?i){LEFT}(", f"){RIGHT}"
    if not (pattern.startswith(head) and pattern.endswith(tail)):
        return pattern
    return "(?i)" + pattern[len(head) : -len(tail)].replace(_WORD_TAIL, "")


@lru_cache(maxsize=65536)
def compiled(pattern: str) -> Any:
    """Compile lazily and share: 10,000 rules reuse many terms, and most are never searched positionally."""
    return re2.compile(pattern, RE2_OPTIONS)


def find_all(pattern: str, text: str) -> Iterator[tuple[int, int]]:
    """Character spans of group 1 of a `bounded` pattern, including occurrences that share a boundary."""
    regex = compiled(pattern)
    position = 0
    while position <= len(text):
        found = regex.search(text, position)
        if found is None:
            return
        start, end = found.span(1)
        yield start, end
        # Restart on the right boundary character so it can serve as the left boundary of the next occurrence.
        position = end if end > position else position + 1
