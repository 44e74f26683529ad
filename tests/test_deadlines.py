"""Deadline phrases resolved against the publication time (Monday 2020-02-17 09:00 UTC), end of day in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tocsin.matching.deadlines import find_deadlines

MONDAY = datetime(2020, 2, 17, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(("text", "at", "phrase"), [
    ("unless they withdraw by the end of the month", "2020-02-29T23:59:59", "by the end of the month"),
    ("leave within 48 hours", "2020-02-19T09:00:00", "within 48 hours"),
    ("by Friday", "2020-02-21T23:59:59", "by Friday"),
    ("by March 1", "2020-03-01T23:59:59", "by March 1"),
    ("by 1st March", "2020-03-01T23:59:59", "by 1st March"),
    ("before midnight on Sunday", "2020-02-23T23:59:59", "before midnight on Sunday"),
    ("issued a 24-hour deadline", "2020-02-18T09:00:00", "24-hour deadline"),
    ("until the end of the year", "2020-12-31T23:59:59", "until the end of the year"),
    ("by the end of the week", "2020-02-23T23:59:59", "by the end of the week"),
    ("within the next two weeks", "2020-03-02T09:00:00", "within the next two weeks"),
    ("by tomorrow", "2020-02-18T23:59:59", "by tomorrow"),
    ("by Monday", "2020-02-24T23:59:59", "by Monday"),
    ("by Feb 10", "2021-02-10T23:59:59", "by Feb 10"),
    ("refused to leave before the March 1 deadline", "2020-03-01T23:59:59", "before the March 1"),
    # Afghanistan, 24 August 2021: the deadline named by its date, without "by".
    ("Extension of the 29 February evacuation deadline unlikely", "2020-02-29T23:59:59",
     "29 February evacuation deadline"),
    ("ahead of the March 1 deadline for the withdrawal", "2020-03-01T23:59:59", "March 1 deadline"),
    ("the 1st of March ultimatum", "2020-03-01T23:59:59", "1st of March ultimatum"),
])
def test_resolution(text: str, at: str, phrase: str) -> None:
    [deadline] = find_deadlines(text, MONDAY)
    assert deadline.at == datetime.fromisoformat(at).replace(tzinfo=UTC)
    assert deadline.text == phrase
    assert text[deadline.start : deadline.end] == phrase


def test_end_of_month_outside_a_leap_year() -> None:
    [deadline] = find_deadlines("by the end of the month", datetime(2021, 2, 3, tzinfo=UTC))
    assert deadline.at == datetime(2021, 2, 28, 23, 59, 59, tzinfo=UTC)


def test_naive_publication_time_is_taken_as_utc() -> None:
    [deadline] = find_deadlines("within 2 days", datetime(2020, 2, 17, 9, 0))
    assert deadline.at == datetime(2020, 2, 19, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["by the river", "within the city", "by February 31", "the end of the war",
                                  "On 1 March, the deadline passed unnoticed by many", "Transfer deadline day"])
def test_no_deadline(text: str) -> None:
    assert find_deadlines(text, MONDAY) == []
