"""Numbers as news writes them: `2,100`, `7000`, `1.5 million`, `10k`, `seven thousand`, `a dozen`,
`hundreds of`, `tens of thousands`, with their qualifiers (`more than`, `nearly`, `at least`, `up to`) kept.

Vague plurals resolve to their lower bound (`hundreds of` = 100, `tens of thousands` = 10,000), so a rule that
asks for `troops >= 1000` fires on "thousands of troops" and not on "hundreds of troops".
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_UNITS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90,
}
_SCALES = {"hundred": 100, "thousand": 1_000, "million": 1_000_000, "billion": 1_000_000_000}
_SHORT_SCALES = {"k": 1_000, "m": 1_000_000, "mn": 1_000_000, "bn": 1_000_000_000}
_VAGUE = {
    "dozens": 24, "scores": 40, "hundreds": 100, "thousands": 1_000, "millions": 1_000_000,
    "tens of thousands": 10_000, "hundreds of thousands": 100_000, "tens of millions": 10_000_000,
}

QUALIFIERS = (
    "more than", "over", "nearly", "almost", "about", "around", "approximately", "roughly", "at least", "up to",
    "as many as", "some", "fewer than", "less than", "close to", "an estimated", "estimated", "at most", "upwards of",
)

_QUALIFIER = "|".join(sorted((re.escape(q) for q in QUALIFIERS), key=len, reverse=True))
_UNIT_WORD = "|".join(sorted(_UNITS, key=len, reverse=True))
_SCALE_WORD = "|".join(_SCALES)
_WORD_NUMBER = (
    rf"(?:(?:{_UNIT_WORD})(?:[\s-]+(?:and\s+)?(?:{_UNIT_WORD}|{_SCALE_WORD}))*|an?\s+(?:dozen|hundred|thousand|million))"
)
_DIGITS = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_VAGUE_WORDS = "|".join(sorted((re.escape(v) for v in _VAGUE), key=len, reverse=True))

_NUMBER = re.compile(
    rf"(?<![\w.,])(?:(?P<qualifier>{_QUALIFIER})\s+)?"
    rf"(?:(?P<vague>{_VAGUE_WORDS})(?:\s+of)?"
    rf"|(?P<digits>{_DIGITS})(?:(?P<short>k|m|mn|bn)\b|\s*(?P<scale>{_SCALE_WORD})\b)?"
    rf"|(?P<words>{_WORD_NUMBER}))(?![\w])",
    re.IGNORECASE,
)
_WORD = re.compile(r"[^\W_]+")
_STARTERS = frozenset(
    {phrase.split()[0] for phrase in (*QUALIFIERS, *_VAGUE)} | set(_UNITS) | {"a", "an"}
)
# A year is a date, not a count, after these words or a month ("On 12 May 2022, Israeli forces ..." holds no
# 2022 forces).
_YEAR_CONTEXT = re.compile(
    r"(?:\b(?:in|since|until|by|from|of|to|and|before|after)|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)"
    r"[a-z]*\.?)\s+$",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class NumberPhrase:
    start: int
    end: int
    value: float
    qualifier: str | None
    text: str


def _words_value(words: str) -> float | None:
    total = 0
    current = 0
    for word in re.split(r"[\s-]+", words.lower()):
        if word in ("and", ""):
            continue
        if word in ("a", "an"):
            current = 1
        elif word == "dozen":
            current = max(current, 1) * 12
        elif word in _UNITS:
            current += _UNITS[word]
        elif word in _SCALES:
            scale = _SCALES[word]
            if scale == 100:
                current = max(current, 1) * 100
            else:
                total += max(current, 1) * scale
                current = 0
        else:
            return None
    value = total + current
    return float(value) if value else None


def _value(found: re.Match[str]) -> float | None:
    if found["vague"]:
        return float(_VAGUE[re.sub(r"\s+", " ", found["vague"].lower())])
    if found["digits"]:
        value = float(found["digits"].replace(",", ""))
        if found["short"]:
            value *= _SHORT_SCALES[found["short"].lower()]
        elif found["scale"]:
            value *= _SCALES[found["scale"].lower()]
        return value
    return _words_value(found["words"])


def _is_year(found: re.Match[str], text: str) -> bool:
    digits = found["digits"]
    if not digits or found["short"] or found["scale"] or not re.fullmatch(r"(?:19|20)\d\d", digits):
        return False
    return after_year_word(text, found.start())


def after_year_word(text: str, start: int) -> bool:
    """Whether the four digits at `start` follow a word that makes them a year ("in 1982", "May 2022")."""
    return bool(_YEAR_CONTEXT.search(text[max(0, start - 12) : start]))


def _candidates(text: str) -> Iterator[re.Match[str]]:
    """Matches of the number pattern, tried only where a word could begin one: scanning every position with the
    full pattern costs ten times more than walking the words."""
    consumed = 0
    for word in _WORD.finditer(text):
        start = word.start()
        if start < consumed or not (word.group()[0].isdigit() or word.group().lower() in _STARTERS):
            continue
        found = _NUMBER.match(text, start)
        if found is not None:
            consumed = found.end()
            yield found


def find_numbers(text: str) -> list[NumberPhrase]:
    """Every number phrase in `text`, in order, with character offsets."""
    phrases = []
    for found in _candidates(text):
        value = _value(found)
        if value is None or _is_year(found, text):
            continue
        qualifier = found["qualifier"].lower() if found["qualifier"] else None
        if found["vague"]:
            qualifier = qualifier or re.sub(r"\s+", " ", found["vague"].lower())
        phrases.append(NumberPhrase(found.start(), found.end(), value, qualifier, found.group(0)))
    return phrases
