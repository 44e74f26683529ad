"""Deadline phrases and their resolution to an absolute UTC time, relative to the item's publication time.

Conventions (documented in docs/rules.md): a deadline that names a day, a date or the end of a period means the
end of that day, 23:59:59 UTC (publishers rarely say which time zone, and UTC keeps replays reproducible);
`within 48 hours` and `a 24-hour deadline` count from the publication time. A weekday is the next such day after
the publication day (`by Friday` written on a Friday means a week later). A date without a year is the next such
date on or after the publication day.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december",
)
_MONTH_BY_PREFIX = {name[:3]: index for index, name in enumerate(_MONTHS, start=1)}
_MONTH_FORMS = ("sep(?:t(?:ember)?)?", *(f"{name[:3]}(?:{name[3:]})?" for name in _MONTHS if name != "september"))
_MONTH = rf"(?P<month>{'|'.join(_MONTH_FORMS)})\.?"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
# The same, under other names, for a pattern that accepts either order (a group name is used once per pattern).
_DAY_2, _MONTH_2 = _DAY.replace("?P<day>", "?P<day2>"), _MONTH.replace("?P<month>", "?P<month2>")
_BY = r"(?:by|before|until|till|no later than)"
_END_OF_DAY = time(23, 59, 59)
_HOURS = {"hour": 1, "day": 24, "week": 24 * 7}
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "ten": 10, "twelve": 12,
    "fourteen": 14, "thirty": 30, "a": 1, "an": 1,
}
_COUNT = r"(?P<count>\d{1,3}|" + "|".join(_NUMBER_WORDS) + ")"


@dataclass(frozen=True, slots=True)
class DeadlinePhrase:
    start: int
    end: int
    at: datetime
    text: str


def _end_of(day: datetime) -> datetime:
    return datetime.combine(day.date(), _END_OF_DAY, tzinfo=UTC)


def _count(found: re.Match[str]) -> int:
    raw = found["count"].lower()
    return int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]


def _period_end(found: re.Match[str], now: datetime) -> datetime:
    period = found["period"].lower()
    if period == "day":
        return _end_of(now)
    if period == "week":
        return _end_of(now + timedelta(days=6 - now.weekday()))
    if period == "month":
        last = calendar.monthrange(now.year, now.month)[1]
        return _end_of(now.replace(day=last))
    return _end_of(now.replace(month=12, day=31))


def _weekday(found: re.Match[str], now: datetime) -> datetime:
    target = _WEEKDAYS.index(found["weekday"].lower())
    ahead = (target - now.weekday()) % 7 or 7
    return _end_of(now + timedelta(days=ahead))


def _date(found: re.Match[str], now: datetime) -> datetime | None:
    return _date_at(_MONTH_BY_PREFIX[found["month"].lower()[:3]], int(found["day"]), now)


def _date_at(month: int, day: int, now: datetime) -> datetime | None:
    for year in (now.year, now.year + 1):
        if day > calendar.monthrange(year, month)[1]:
            return None
        candidate = datetime(year, month, day, tzinfo=UTC)
        if candidate.date() >= now.date():
            return _end_of(candidate)
    return None


def _date_either(found: re.Match[str], now: datetime) -> datetime | None:
    """_date for a pattern that names the day and month in either order (the groups are numbered apart)."""
    month, day = found["month"] or found["month2"], found["day"] or found["day2"]
    return _date_at(_MONTH_BY_PREFIX[month.lower()[:3]], int(day), now)


def _relative(found: re.Match[str], now: datetime) -> datetime:
    return now + timedelta(hours=_count(found) * _HOURS[found["span"].lower()])


def _tonight(found: re.Match[str], now: datetime) -> datetime:
    return _end_of(now)


def _tomorrow(found: re.Match[str], now: datetime) -> datetime:
    return _end_of(now + timedelta(days=1))


_Resolver = Callable[[re.Match[str], datetime], "datetime | None"]

_MONTH_CUES = tuple(name[:3] for name in _MONTHS)

# Each pattern with the words (lower case) one of which must occur for it to match: a substring test is far
# cheaper than running the pattern, and most texts lack the rarer words (weekday, month, deadline, ultimatum).
_PATTERNS: tuple[tuple[re.Pattern[str], tuple[str, ...], _Resolver], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), cues, resolver)
    for pattern, cues, resolver in (
        (rf"\b{_BY}\s+the\s+end\s+of\s+(?:the|this)\s+(?P<period>day|week|month|year)\b", ("end of",), _period_end),
        (rf"\b{_BY}\s+(?:the\s+)?(?P<period>year|month|week)['’]s\s+end\b", ("s end",), _period_end),
        (rf"\b{_BY}\s+(?:midnight\s+(?:on\s+)?)?(?:this\s+|next\s+)?(?P<weekday>{'|'.join(_WEEKDAYS)})\b",
         ("day",), _weekday),
        (rf"\b{_BY}\s+(?:midnight\s+(?:on\s+)?|the\s+)?{_MONTH}\s+{_DAY}\b", _MONTH_CUES, _date),
        (rf"\b{_BY}\s+(?:midnight\s+(?:on\s+)?)?(?:the\s+)?{_DAY}\s+(?:of\s+)?{_MONTH}\b", _MONTH_CUES, _date),
        # A date naming a deadline without "by": "the 31 August evacuation deadline", "the August 31 deadline".
        (rf"\b(?:{_DAY}\s+(?:of\s+)?{_MONTH}|{_MONTH_2}\s+{_DAY_2})(?:\s+[a-z-]+){{0,2}}?\s+(?:deadline|ultimatum)\b",
         ("deadline", "ultimatum"), _date_either),
        (rf"\bwithin\s+(?:the\s+next\s+)?{_COUNT}\s+(?P<span>hour|day|week)s?\b", ("within",), _relative),
        (rf"\b{_COUNT}[\s-](?P<span>hour|day|week)s?\s+(?:deadline|ultimatum)\b", ("deadline", "ultimatum"),
         _relative),
        (rf"\b(?:deadline|ultimatum)\s+of\s+{_COUNT}\s+(?P<span>hour|day|week)s?\b", ("deadline", "ultimatum"),
         _relative),
        (rf"\b{_BY}\s+(?:tonight|midnight|the\s+end\s+of\s+(?:the\s+)?day)\b", ("night", "end of"), _tonight),
        (rf"\b{_BY}\s+tomorrow\b", ("tomorrow",), _tomorrow),
    )
)


def find_deadlines(text: str, published: datetime) -> list[DeadlinePhrase]:
    """Every resolvable deadline phrase in `text`, in order of appearance, resolved against `published`."""
    now = published.astimezone(UTC) if published.tzinfo else published.replace(tzinfo=UTC)
    found_phrases: list[DeadlinePhrase] = []
    taken: list[tuple[int, int]] = []
    lower = text.lower()
    for pattern, cues, resolver in _PATTERNS:
        if not any(cue in lower for cue in cues):
            continue
        for found in pattern.finditer(text):
            start, end = found.span()
            if any(start < other_end and other_start < end for other_start, other_end in taken):
                continue
            at = resolver(found, now)
            if at is None:
                continue
            taken.append((start, end))
            found_phrases.append(DeadlinePhrase(start, end, at, found.group(0)))
    return sorted(found_phrases, key=lambda phrase: phrase.start)
