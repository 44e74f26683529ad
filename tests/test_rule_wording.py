"""How news is worded: hedges (`asserted`, `near`'s `unless`), field scopes (`in`), title prefixes (`starts`),
ordered pairs and years long past (`old_year`)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.matching_support import DEFAULT_RULES, fired, item, rules_from
from tocsin.errors import RuleError
from tocsin.matching.rules import RuleSet, load_rules

HEDGES = '''\
[terms]
hedges = ["could", "threat*", "warn*", "fears of", "no", "not", "denies", "denied"]
'''

RULES = HEDGES + '''
[[rule]]
id = "invasion"
title = "Invasion"
severity = "high"
asserted = { terms = ["invade*", "invasion"], unless = ["@hedges"] }

[[rule]]
id = "drone-down"
title = "Drone down"
severity = "medium"
near = { a = ["drone*"], b = ["shot down", "shooting down"], within = 4, unless = ["@hedges"] }

[[rule]]
id = "bombs"
title = "X bombs Y"
severity = "medium"
near = { a = ["Russia", "Israel"], b = ["bombs", "strikes"], within = 0, ordered = true }
none = [{ starts = ["Analysis", "Opinion"], in = "title" }]

[[rule]]
id = "headline-shelling"
title = "Shelling in the headline"
severity = "low"
in = "title"
terms = ["shell*"]

[[rule]]
id = "troops-in-title"
title = "Troops counted in the title"
severity = "low"
all = [{ quantity = "troops >= 1000", in = "title" }]

[[rule]]
id = "sent"
title = "Troops sent"
severity = "low"
terms = ["troops"]
none = [{ old_year = 10 }]

[[unit]]
name = "troops"
after = ["troop*"]
'''

NOW = datetime(2022, 6, 1, tzinfo=UTC)


@pytest.fixture
def rules(tmp_path: Path) -> RuleSet:
    return rules_from(tmp_path, RULES)


def fires(rules: RuleSet, title: str, summary: str = "") -> set[str]:
    return fired(rules.match(item(title, summary, published=NOW)))


@pytest.mark.parametrize(("title", "expected"), [
    ("Russia invades Ukraine", True),
    ("Russia could invade Ukraine within weeks", False),
    ("Biden warns of an invasion", False),
    ("Moscow denies it plans an invasion", False),
    ("Fears grow in Kyiv, and Russia invades from the north", True),
    ("Troops could be there, and the invasion began at dawn", True),
])
def test_asserted_terms_are_not_hedged(rules: RuleSet, title: str, expected: bool) -> None:
    assert ("invasion" in fires(rules, title)) is expected


def test_a_hedge_in_another_sentence_or_field_does_not_qualify(rules: RuleSet) -> None:
    assert "invasion" in fires(rules, "Tanks cross the border", "Nobody thought it could. The invasion began.")
    assert "invasion" in fires(rules, "Analysts warned", "The invasion began at dawn.")


@pytest.mark.parametrize(("title", "expected"), [
    ("Ukraine says 12 drones shot down overnight", True),
    ("No drones were shot down, Ukraine says", False),
    ("Iran denies shooting down the drone", False),
    ("Drone not shot down but jammed", False),
])
def test_near_pairs_can_be_hedged(rules: RuleSet, title: str, expected: bool) -> None:
    assert ("drone-down" in fires(rules, title)) is expected


def test_an_ordered_pair_needs_a_first(rules: RuleSet) -> None:
    assert "bombs" in fires(rules, "Russia bombs Kyiv again")
    assert "bombs" in fires(rules, "Israel strikes Gaza")
    assert "bombs" not in fires(rules, "Unexploded bombs Russia left behind")
    assert "bombs" not in fires(rules, "Strikes in Israel")


def test_starts_in_the_title(rules: RuleSet) -> None:
    assert "bombs" not in fires(rules, "Analysis: Russia bombs Kyiv again")
    assert "bombs" not in fires(rules, "'Opinion | Russia bombs Kyiv, and the world watches")
    assert "bombs" in fires(rules, "Russia bombs Kyiv again", "Analysis of the damage is under way.")
    assert "bombs" in fires(rules, "Why Russia bombs Kyiv: an analysis")


def test_a_scoped_rule_or_table_sees_one_field(rules: RuleSet) -> None:
    assert "headline-shelling" in fires(rules, "Shelling resumes in Donetsk")
    assert "headline-shelling" not in fires(rules, "Donetsk update", "Shelling resumed overnight.")
    assert "troops-in-title" in fires(rules, "Turkey sends 7000 troops", "More may follow.")
    assert "troops-in-title" not in fires(rules, "Turkey reinforces Idlib", "It sent 7000 troops.")


@pytest.mark.parametrize(("title", "expected"), [
    ("Remembering the troops of 1982", False),
    ("Troops who fought in the 1990s return", False),
    ("Falklands, 1982: the troops remember", False),
    ("2000 troops sent to the border", True),
    ("Troops deployed in 2020 stay on", True),
    ("Troops sent", True),
])
def test_old_years_mark_a_look_back(rules: RuleSet, title: str, expected: bool) -> None:
    assert ("sent" in fires(rules, title)) is expected


@pytest.mark.parametrize(("condition", "message"), [
    ('in = "body"\nterms = ["x"]', 'in: expected "title" or "summary", got \'body\''),
    ('near = { a = ["x"], b = ["y"], unles = ["no"] }', 'unknown key "unles" (did you mean "unless"?)'),
    ('near = { a = ["x"], b = ["y"], ordered = "yes" }', "ordered: expected true"),
    ('asserted = { terms = ["x"] }', "asserted.unless: expected the hedge terms"),
    ('asserted = { terms = ["x"], unless = ["no"], within = -1 }', "asserted.within: expected a number of words"),
    ('asserted = ["x"]', "asserted: expected a table"),
    ('old_year = "ten"', "old_year: expected a number of years"),
    ('starts = []', "starts: expected a term or a list of terms"),
    ('terms = ["x"]\nin_title = ["y"]', 'unknown key "in_title"'),
])
def test_wording_conditions_are_validated(tmp_path: Path, condition: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        rules_from(tmp_path, f'[[rule]]\nid = "a"\ntitle = "A"\nseverity = "low"\n{condition}\n')
    assert any(message in problem for problem in caught.value.problems), caught.value.problems


@pytest.mark.parametrize("condition", [
    'asserted = { terms = ["x"], unless = ["no"], whithin = 2, unles = ["not"], within = -1 }',
    'near = { a = ["x"], b = ["y"], whithin = 2, unles = ["not"], within = -1 }',
])
def test_a_condition_table_reports_every_unknown_key_and_its_other_problems(tmp_path: Path, condition: str) -> None:
    with pytest.raises(RuleError) as caught:
        rules_from(tmp_path, f'[[rule]]\nid = "a"\ntitle = "A"\nseverity = "low"\n{condition}\n')
    problems = caught.value.problems
    for message in ('unknown key "whithin" (did you mean "within"?)', 'unknown key "unles" (did you mean "unless"?)',
                    "within: expected a number of words"):
        assert any(message in problem for problem in problems), (message, problems)


def test_the_pack_s_wording_lists_work(tmp_path: Path) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "wording.toml").write_text((DEFAULT_RULES / "wording.toml").read_text(encoding="utf-8"))
    (rules_dir / "rule.toml").write_text(
        '[[rule]]\nid = "w"\ntitle = "W"\nseverity = "low"\n'
        'asserted = { terms = ["invade*"], unless = ["@modality", "@negation"] }\n'
        'none = [{ starts = ["@background_starts"], in = "title" }]\n')
    rules = load_rules([rules_dir])
    assert fires(rules, "Russia invades Ukraine") == {"w"}
    for quiet in ("Russia may be about to invade Ukraine", "Kremlin denies it will invade",
                  "Explainer: why Russia invaded Ukraine", "What we know about the invading forces"):
        assert fires(rules, quiet) == set(), quiet
