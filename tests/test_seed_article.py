"""The seed article (published 2020-02-17) must raise every tag of the default pack, with the right figures."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import shared_path
from tests.matching_support import DEFAULT_RULES, item
from tocsin.matching.model import Match
from tocsin.matching.rules import load_rules


@pytest.fixture(scope="module")
def seed_matches() -> list[Match]:
    text = shared_path("examples", "seed-article.txt").read_text(encoding="utf-8")
    title, _, summary = text.partition("\n")
    published = datetime(2020, 2, 17, tzinfo=UTC)
    return load_rules([DEFAULT_RULES]).match(item(title.strip(), summary.strip(), published=published))


def by_tag(matches: list[Match], tag: str) -> list[Match]:
    found = [match for match in matches if tag in match.tags]
    assert found, f"no {tag} match; fired: {[m.rule for m in matches]}"
    return found


def quantities(matches: list[Match], unit: str) -> dict[float, str]:
    return {q.value: q.text for match in matches for q in match.quantities if q.unit == unit}


def evidence_text(matches: list[Match]) -> str:
    return " | ".join(e.text.lower() for match in matches for e in match.evidence)


def test_buildup_carries_troops_vehicles_and_tanks(seed_matches: list[Match]) -> None:
    buildup = by_tag(seed_matches, "buildup")
    assert quantities(buildup, "troops")[7000] == "7000 troops"
    assert quantities(buildup, "vehicles")[2100] == "more than 2100 military vehicles"
    assert quantities(buildup, "armour")[100] == "hundreds of tanks"
    qualifiers = {q.qualifier for match in buildup for q in match.quantities if q.unit == "vehicles"}
    assert "more than" in qualifiers


def test_deadline_resolves_to_end_of_february_in_a_leap_year(seed_matches: list[Match]) -> None:
    deadlines = {m.deadline for m in by_tag(seed_matches, "deadline") if m.deadline}
    assert [(d.at, d.text) for d in deadlines] == [
        (datetime(2020, 2, 29, 23, 59, 59, tzinfo=UTC), "by the end of the month")
    ]


def test_shootdown_of_a_helicopter(seed_matches: list[Match]) -> None:
    text = evidence_text(by_tag(seed_matches, "shootdown"))
    assert "helicopter" in text
    assert "shoot down" in text


def test_casualties_thirteen_troops_killed(seed_matches: list[Match]) -> None:
    assert quantities(by_tag(seed_matches, "casualties"), "killed") == {13: "13 Turkish troops"}


def test_displacement_of_800000(seed_matches: list[Match]) -> None:
    displaced = quantities(by_tag(seed_matches, "displacement"), "displaced")
    assert displaced == {800_000: "nearly 800,000 to flee"}, "the 1 million residents are not displaced people"


def test_territorial_sites_seized_and_aleppo_city_taken(seed_matches: list[Match]) -> None:
    text = evidence_text(by_tag(seed_matches, "territorial"))
    assert "seized" in text and "sites" in text
    assert "taking control" in text and "city" in text


def test_strike_airstrikes_and_shelling(seed_matches: list[Match]) -> None:
    text = evidence_text(by_tag(seed_matches, "strike"))
    assert "airstrikes" in text
    assert "shell" in text


def test_places_and_actors_reported(seed_matches: list[Match]) -> None:
    assert {"Idlib", "Aleppo"} <= set(seed_matches[0].places)
    assert {"Turkey", "Russia"} <= set(seed_matches[0].actors)


def test_evidence_offsets_point_at_the_text(seed_matches: list[Match]) -> None:
    text = shared_path("examples", "seed-article.txt").read_text(encoding="utf-8")
    title, _, summary = text.partition("\n")
    fields = {"title": title.strip(), "summary": summary.strip()}
    for match in seed_matches:
        for evidence in match.evidence:
            assert fields[evidence.field][evidence.start : evidence.end] == evidence.text
