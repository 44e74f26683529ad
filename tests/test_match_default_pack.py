"""The default pack on sentences written for it: each tag fires where it should and stays quiet on the traps."""

from __future__ import annotations

import pytest

from daemon.matching.rules import RuleSet, load_rules
from tests.matching_support import DEFAULT_RULES, item, tags


@pytest.fixture(scope="module")
def pack() -> RuleSet:
    return load_rules([DEFAULT_RULES])


@pytest.mark.parametrize(("tag", "title", "summary"), [
    ("buildup", "Russia masses troops near Ukrainian border", "Satellite images show tanks and artillery."),
    ("buildup", "China sends warships toward Taiwan Strait", ""),
    ("buildup", "Pentagon deploys 3,000 soldiers to Poland", "The troops will be sent to the eastern border."),
    ("deadline", "Rebels given 48-hour ultimatum to leave the city", "The army said it would attack otherwise."),
    ("deadline", "Armed groups must withdraw by Friday, military warns", ""),
    ("shootdown", "Ukraine says it shot down 30 Russian drones overnight", ""),
    ("shootdown", "Military helicopter downed by rebel fire", ""),
    ("shootdown", "Air defences intercepted two ballistic missiles over the capital", ""),
    ("casualties", "Airstrike kills 12 civilians in northern Yemen", ""),
    ("casualties", "Gunmen killed three villagers in an overnight raid", ""),
    ("casualties", "Five soldiers wounded in a roadside bomb attack", ""),
    ("displacement", "Thousands flee as fighting reaches the outskirts of Khartoum", ""),
    ("displacement", "UN: 2 million people displaced by the war in Sudan", ""),
    ("territorial", "Rebels capture key town after days of fighting", ""),
    ("territorial", "Army retakes strategic hill from insurgents", ""),
    ("territorial", "City under siege as militia forces encircle it", ""),
    ("strike", "Israeli airstrikes hit Gaza overnight", ""),
    ("strike", "Heavy shelling of Kharkiv continues", ""),
    ("strike", "Russian missiles struck energy infrastructure in Lviv", ""),
])
def test_fires(pack: RuleSet, tag: str, title: str, summary: str) -> None:
    assert tag in tags(pack.match(item(title, summary)))


@pytest.mark.parametrize(("title", "summary"), [
    # sports and politics
    ("Senate shot down the proposal to raise the debt ceiling", ""),
    ("Lawmakers shoot down plans for a new airport runway", "The jet noise would be too loud, they said."),
    ("Jets quarterback shot down by critics after loss", "The NFL season continues."),
    ("Striker shoots, keeper blocks: a game of two halves", "The match ended 2-1."),
    ("Council killed the bill on Tuesday", ""),
    # budget, tax and shutdown deadlines
    ("Congress must pass a budget by the end of the month to avoid a shutdown", ""),
    ("Tax filing deadline is April 15; file by Friday to avoid penalties", ""),
    ("Union gives management a 48-hour ultimatum over pay", "Workers will strike if talks fail."),
    # troops as a metaphor
    ("Candidate rallies the troops ahead of the primary", "Thousands of volunteers were sent door to door."),
    ("Girl Scout troops sell record 5,000 boxes of cookies", ""),
    ("Company deploys new software to thousands of stores", ""),
    # storm and wildfire evacuations
    ("Thousands flee as wildfire approaches the town", "Residents were evacuated overnight."),
    ("Hurricane forces 200,000 to evacuate coastal areas", ""),
    ("Floods displace 10,000 people in Bangladesh", ""),
    # anniversaries of old wars
    ("Eighty years ago, bombers struck Dresden", "The city commemorates the anniversary of the bombing."),
    ("Veterans mark the anniversary of the D-Day landings", "Troops stormed the beaches 80 years ago."),
    # other everyday uses
    ("Heatwave: three people died as temperatures soared", ""),
    ("Bus crash kills 12 on mountain road", ""),
    ("Workers strike for better pay", "The strike continues into its second week."),
    ("New film captured the imagination of audiences", ""),
])
def test_stays_quiet(pack: RuleSet, title: str, summary: str) -> None:
    assert pack.match(item(title, summary)) == []
