"""The default pack on sentences written for it: each tag fires where it should and stays quiet on the traps."""

from __future__ import annotations

import pytest

from tests.matching_support import DEFAULT_RULES, item, tags
from tocsin.matching.rules import RuleSet, load_rules


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
    # found while measuring on ACLED notes and feed items (docs/rules.md)
    ("buildup", "The U.S. builds up military forces in the region", ""),
    ("buildup", "Rebel forces deployed to the front line near the city", ""),
    ("shootdown", "Interception: air defence forces shot down a reconnaissance drone over the coast", ""),
    ("shootdown", "Rebels shot down two army Mi-24 and Mi-8 helicopters near the river", ""),
    ("shootdown", "Air defences shot down unidentified aerial targets near the border", ""),
    ("displacement", "Over 2,000 villagers were forced to flee after soldiers raided the area", ""),
    ("displacement", "Aid workers say 300,000 people are fleeing a lightning rebel offensive", ""),
    ("displacement", "170 civilians were evacuated from the city on Sunday", ""),
    ("displacement", "About 3,000 refugees crossed into the neighbouring country overnight", ""),
    ("territorial", "Government forces recapture positions in clashes with rebels", ""),
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
    ("George Washington led the Siege of Boston", "He never wore wooden teeth, historians say."),
])
def test_stays_quiet(pack: RuleSet, title: str, summary: str) -> None:
    assert pack.match(item(title, summary)) == []


@pytest.mark.parametrize(("tag", "title", "summary"), [
    # a date is not a number of troops
    ("buildup", "On 12 May 2022, soldiers positioned on the border fired tear gas at farmers", ""),
    # names of units and groups that contain a word of the rules
    ("buildup", "Militants attacked a Popular Mobilization Forces brigade near the town", ""),
    # an ambush of a convoy, a protest against a deployment
    ("buildup", "Rebels ambushed a military convoy carrying reinforcements to the front", ""),
    ("buildup", "Protesters held a rally against the deployment of troops abroad", ""),
    ("territorial", "Liberation Army fighters attacked a police station in the district", ""),
    # looting, attempts
    ("territorial", "Militants seized four canoes and livestock in the village", ""),
    ("territorial", "Russian forces tried to capture the city but were repelled", ""),
    # people displaced long ago, attackers who fled, advocacy
    ("displacement", "Gunmen shot dead a displaced man in the camp", ""),
    ("displacement", "Soldiers raided the refugee camp and arrested two men", ""),
    ("displacement", "The attackers fled on motorcycles after the raid on the army post", ""),
    ("displacement", "Protesters marched in support of refugees fleeing the war", ""),
    # "migrants" is not a MiG
    ("shootdown", "Coast guard intercepted a boat carrying 80 migrants", ""),
])
def test_tag_stays_quiet(pack: RuleSet, tag: str, title: str, summary: str) -> None:
    assert tag not in tags(pack.match(item(title, summary)))
