"""Numbers as news writes them."""

from __future__ import annotations

import pytest

from tocsin.matching.numbers import find_numbers


@pytest.mark.parametrize(("text", "value", "qualifier", "phrase"), [
    ("2,100 vehicles", 2100, None, "2,100"),
    ("7000 troops", 7000, None, "7000"),
    ("1.5 million people", 1_500_000, None, "1.5 million"),
    ("nearly 800,000 to flee", 800_000, "nearly", "nearly 800,000"),
    ("10k soldiers", 10_000, None, "10k"),
    ("3.5m displaced", 3_500_000, None, "3.5m"),
    ("seven thousand troops", 7000, None, "seven thousand"),
    ("twenty-five soldiers", 25, None, "twenty-five"),
    ("one hundred and twenty men", 120, None, "one hundred and twenty"),
    ("a dozen drones", 12, None, "a dozen"),
    ("hundreds of tanks", 100, "hundreds", "hundreds of"),
    ("thousands of people", 1000, "thousands", "thousands of"),
    ("tens of thousands of refugees", 10_000, "tens of thousands", "tens of thousands of"),
    ("more than 30 sites", 30, "more than", "more than 30"),
    ("at least 13 killed", 13, "at least", "at least 13"),
    ("up to 5,000 reservists", 5000, "up to", "up to 5,000"),
    ("an estimated 2 million", 2_000_000, "an estimated", "an estimated 2 million"),
])
def test_news_numbers(text: str, value: float, qualifier: str | None, phrase: str) -> None:
    [number] = find_numbers(text)
    assert (number.value, number.qualifier, number.text) == (value, qualifier, phrase)
    assert text[number.start : number.end] == phrase


@pytest.mark.parametrize("text", ["since 2011 the war", "in 2022 troops", "version2", "COVID-19x"])
def test_not_counts(text: str) -> None:
    assert find_numbers(text) == []


def test_several_numbers_in_order() -> None:
    numbers = find_numbers("more than 2100 military vehicles and 7000 troops in two weeks")
    assert [n.value for n in numbers] == [2100, 7000, 2]
