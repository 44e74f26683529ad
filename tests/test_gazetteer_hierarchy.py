"""The gazetteer's hierarchy (place -> country -> theatre): validated with file:line, and escalation rules grouped
by country or theatre raise one situation per conflict while rules grouped by place keep the finer keys."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.scenario.helpers import REPO, T0, escalation, item, match
from tocsin.clock import SimulatedClock
from tocsin.errors import RuleError
from tocsin.escalate.rules import load_escalation_rules
from tocsin.rulebook import load_rulebook
from tocsin.store import open_database

GAZETTEER = """\
[[place]]
name = "Afghanistan"

[[place]]
name = "Kabul"
country = "Afghanistan"
capital = true

[[place]]
name = "Kandahar"
country = "Afghanistan"

[[place]]
name = "Israel"
theatre = "Israel/Palestine"

[[place]]
name = "Gaza"
theatre = "Israel/Palestine"

[[place]]
name = "Ashkelon"
country = "Israel"
"""

RULES = """\
[[escalation]]
id = "by-place"
group_by = "place"
window = "7d"
level = "watch"
count = { tag = "strike", at_least = 1 }

[[escalation]]
id = "by-country"
group_by = "country"
window = "7d"
level = "high"
count = { tag = "strike", at_least = 2 }

[[escalation]]
id = "by-theatre"
group_by = "theatre"
window = "7d"
level = "high"
count = { tag = "strike", at_least = 2 }
"""


def test_places_roll_up_to_their_country_and_theatre(tmp_path: Path) -> None:
    (tmp_path / "gazetteer.toml").write_text(GAZETTEER, encoding="utf-8")
    (tmp_path / "escalation.toml").write_text(RULES, encoding="utf-8")
    rules = load_escalation_rules([tmp_path])
    assert rules.regions["Kabul"].country == "Afghanistan" and rules.regions["Kabul"].capital
    assert rules.regions["Ashkelon"].theatre == "Israel/Palestine"
    db = open_database(tmp_path / "state.db")
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, rules)
    raised = []
    for title, places in (("Strike in Kabul", ("Kabul",)), ("Strike in Kandahar", ("Kandahar", "Afghanistan")),
                          ("Rockets hit Ashkelon", ("Ashkelon",)), ("Airstrikes on Gaza", ("Gaza", "Israel"))):
        clock.advance(timedelta(hours=6))
        with db.transaction():
            raised += [a for a in stage.on_item(item(title), [match("strike-x", "strike", places=places)])
                       if a.kind == "escalation"]
    assert sorted(a.situation or "" for a in raised) == [
        "country:Afghanistan", "country:Israel", "theatre:Afghanistan", "theatre:Israel/Palestine",
    ], "Kabul and Kandahar are one Afghanistan; Ashkelon and Israel one country; with Gaza one theatre"
    theatre = next(a for a in raised if a.situation == "theatre:Israel/Palestine")
    assert theatre.title == "Israel/Palestine: escalation level high"
    assert [i.title for i in theatre.items] == ["Rockets hit Ashkelon", "Airstrikes on Gaza"]
    # The finer keys stay: each place is a situation of its own for the rule grouped by place.
    assert stage.situations.level("place:Kabul") == "watch"
    assert stage.situations.level("place:Kandahar") == "watch"
    assert stage.situations.level("country:Gaza") is None, "one strike in Gaza, the other in Israel"


def test_the_shipped_gazetteer_puts_one_conflict_in_one_theatre() -> None:
    regions = load_rulebook([REPO / "rules"]).escalation.regions
    assert {regions[name].theatre for name in ("Israel", "Gaza", "West Bank", "Jerusalem", "Ashkelon", "Rafah")} == {
        "Israel/Palestine"}
    assert {regions[name].theatre for name in ("Kabul", "Kandahar", "Kunduz", "Afghanistan")} == {"Afghanistan"}
    assert regions["Kabul"].capital and not regions["Kandahar"].capital


BROKEN = """\
[[place]]
name = "Afghanistan"

[[place]]
name = "Kabul"
country = "Afganistan"

[[place]]
name = "Kandahar"
country = "Afghanistan"

[[place]]
name = "Spin Boldak"
country = "Kandahar"

[[place]]
name = "Gaza City"
country = "Afghanistan"
theatre = "Israel/Palestine"

[[place]]
name = "Herat"
country = "Afghanistan"
capital = "yes"

[[place]]
name = "Ghazni"
country = ""
"""


def test_hierarchy_problems_name_file_line_and_place(tmp_path: Path) -> None:
    path = tmp_path / "gazetteer.toml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_rulebook([path])
    assert caught.value.problems == [
        f'{path}:6: place "Kabul": country "Afganistan" is not a place of the gazetteer (did you mean "Afghanistan"?)',
        f'{path}:14: place "Spin Boldak": country "Kandahar" lies in "Afghanistan" itself: name the country',
        f'{path}:19: place "Gaza City": a theatre belongs on the country: set it on "Afghanistan", not on a place '
        "inside it",
        f'{path}:24: place "Herat": capital must be true or false',
        f'{path}:28: place "Ghazni": "country" must be a non-empty string: the name of a place of the gazetteer',
    ]
