"""Terms as analysts write them, compiled twice: a loose RE2 form for the prefilter Set, and a bounded form with
word boundaries that work for any script, for finding where the term occurs.

A term is one or more words: `helicopter`, `shot down`, `shoot* down`. Matching is case-insensitive and on whole
words; a trailing `*` on a word stands for any word characters (`down*` = down, downed, downing; `shoot*` =
shoot, shoots, shooting). Words of a phrase may be separated by spaces or hyphens in the text (`shot-down`).

RE2's `\\b` only knows ASCII letters, so `\\bIdleb\\b` would fail next to `é`. The bounded form therefore runs on
Python's `re`, whose `\\w` is Unicode-aware, with lookarounds (which RE2 lacks). That is safe from catastrophic
backtracking because a term is only escaped literals, word tails and separators; analysts' own regular expressions
(the `regex` condition) run on RE2 only. The loose form drops boundaries and word tails, so it is a superset of
the bounded one: the Set says "may occur", the bounded search says where.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import re2

_WORD_TAIL = r"\w*"
_SEPARATOR = r"[\s\-‐‑–]+"
_LOOSE_TAIL = r"\S*"
_BOUNDED_HEAD = r"(?i)(?<!\w)(?:"
_BOUNDED_TAIL = r")(?!\w)"
_SHORT_TERM = 6
"""Terms shorter than this keep (ASCII) boundaries in the prefilter: "war" is inside "toward", "software"."""
# Letters, digits, apostrophes and the wildcard; anything else in a term is a typo or belongs in `regex`.
_ALLOWED_PUNCTUATION = frozenset("*'’.&-")

RE2_OPTIONS: Any = re2.Options()
# The default budget (8 MB) cannot compile thousands of patterns into one Set, and 16-32 MB thrashes
# (shared/notes/libraries.md); 256 MB is a ceiling RE2 may use, not memory it takes up front.
RE2_OPTIONS.max_mem = 256 << 20
# RE2's C++ logger would write its own copy of every parse error to stderr (through absl, with a warning about
# absl::InitializeLog); the error is reported once, in the rule problem, by re2_error_text.
RE2_OPTIONS.log_errors = False


def re2_error_text(exc: Exception) -> str:
    """The message of an re2.error, which carries the C++ message as bytes: `missing ): (a`, not `b'missing ...'`."""
    parts = [arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg) for arg in exc.args]
    return "; ".join(parts) or type(exc).__name__


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


@lru_cache(maxsize=65536)
def term_body(term: str) -> str:
    """The pattern of a term without boundaries, in the syntax both `re` and RE2 accept."""
    problem = term_problem(term)
    if problem:
        raise TermError(problem)
    parts = []
    for word in term.split():
        wildcard = word.endswith("*")
        parts.append(re.escape(word.rstrip("*").lower()) + (_WORD_TAIL if wildcard else ""))
    return _SEPARATOR.join(parts)


def bounded(body: str) -> str:
    """A case-insensitive pattern that matches `body` only as whole words, in any script."""
    return f"{_BOUNDED_HEAD}{body}{_BOUNDED_TAIL}"


def is_bounded(pattern: str) -> bool:
    return pattern.startswith(_BOUNDED_HEAD) and pattern.endswith(_BOUNDED_TAIL)


def loose(pattern: str) -> str:
    """The prefilter form of a pattern, a superset of it (the bounded search decides): Unicode word classes
    would cost RE2 about 1 ms per pattern to add to a Set and as much again to compile, so short terms get ASCII
    boundaries and long ones none, and word tails are dropped. Other patterns (analysts' regular expressions)
    are used as they are."""
    if not is_bounded(pattern):
        return pattern
    body = pattern[len(_BOUNDED_HEAD) : -len(_BOUNDED_TAIL)]
    literal = body.replace(_WORD_TAIL, "").replace("\\", "")
    if "|" not in body and len(literal) >= _SHORT_TERM:
        # Long terms rarely hide inside other words, and boundaries would triple the Set's compile time. A word
        # tail at the end can go (what is left is a prefix of every match); inside a phrase ("build* up") it must
        # stay, as any run of non-space characters, or "builds up" would never reach the bounded search.
        trimmed = body[: -len(_WORD_TAIL)] if body.endswith(_WORD_TAIL) else body
        return f"(?i){trimmed.replace(_WORD_TAIL, _LOOSE_TAIL)}"
    # An ASCII boundary is cheap for RE2 and still a superset of the Unicode one: it only refuses where an ASCII
    # letter or digit touches the term. Without it, "war" would pass every "toward" and "software".
    return f"(?i)(?:^|[^A-Za-z0-9_])(?:{body.replace(_WORD_TAIL, '[A-Za-z0-9_]*')})(?:$|[^A-Za-z0-9_])"


@lru_cache(maxsize=65536)
def _python_regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


@lru_cache(maxsize=65536)
def _lowercase_regex(pattern: str) -> re.Pattern[str]:
    """The bounded pattern for lower-cased text, without the leading look-behind: starting with a literal lets
    `re` scan for it like str.find, about ten times faster; the left boundary is checked by hand."""
    return re.compile(f"(?:{pattern[len(_BOUNDED_HEAD) : -len(_BOUNDED_TAIL)]})" + r"(?!\w)")


def lowered(text: str) -> str | None:
    """`text` lower-cased for `find_all`, or None when lower-casing would move offsets (a few letters, such as
    the Turkish dotted capital I, become two characters)."""
    lower = text.lower()
    return lower if len(lower) == len(text) else None


def _word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


@lru_cache(maxsize=65536)
def _re2_regex(pattern: str) -> Any:
    return re2.compile(pattern, RE2_OPTIONS)


def find_all(pattern: str, text: str, lower: str | None = None) -> Iterator[tuple[int, int]]:
    """Character spans where `pattern` (a `bounded` term or an RE2 regex) occurs in `text`; `lower` is
    `lowered(text)` when the caller has it (much faster for bounded terms)."""
    if is_bounded(pattern) and lower is not None:
        fast = _lowercase_regex(pattern)
        position = 0
        while (found := fast.search(lower, position)) is not None:
            start, end = found.span()
            if start == 0 or not _word_char(lower[start - 1]):
                yield start, end
                position = end
            else:
                position = start + 1
        return
    if is_bounded(pattern):
        for found in _python_regex(pattern).finditer(text):
            yield found.span()
        return
    regex = _re2_regex(pattern)
    position = 0
    while position <= len(text):
        found = regex.search(text, position)
        if found is None:
            return
        start, end = found.span()
        if end > start:
            yield start, end
        position = end if end > position else position + 1
