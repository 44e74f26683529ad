"""The loader reports every problem at once, with file, line, rule id and a hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.matching_support import DEFAULT_RULES, rules_from
from tocsin.errors import RuleError
from tocsin.matching.rules import load_rules
from tocsin.rulebook import load_rulebook

BROKEN = '''\
[[rule]]
id = "heli-down"
title = "Helicopter down"
severty = "high"
severity = "severe"
tags = ["shootdown"]
any = ["helicopter*", "shot down"]

[[rule]]
id = "heli-down"
title = "Twin"
severity = "low"
any = ["x"]

[[rule]]
id = "bad-regex"
title = "Regex"
severity = "low"
regex = "(unclosed"

[[rule]]
id = "no-condition"
title = "Nothing to find"
severity = "low"

[[rule]]
id = "bad-unit"
title = "Unit"
severity = "low"
quantity = "trops >= 1000"

[[rule]]
id = "bad-place"
title = "Place"
severity = "low"
any = ["attack"]
places = ["atlantis"]

[[rule]]
id = "bad-term"
title = "Term"
severity = "low"
any = ["sh*t down", "a?b"]
'''

UNITS = '''\
[[unit]]
name = "troops"
after = ["troop*"]

[[place]]
name = "Idlib"
aliases = ["Idleb"]
lists = ["syria"]
'''


@pytest.fixture
def problems(tmp_path: Path) -> list[str]:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "units.toml").write_text(UNITS)
    with pytest.raises(RuleError) as caught:
        rules_from(tmp_path, BROKEN, "shootdown.toml")
    return caught.value.problems


def find(problems: list[str], *needles: str) -> str:
    hits = [p for p in problems if all(needle in p for needle in needles)]
    assert hits, f"no problem mentions {needles}: {problems}"
    return hits[0]


def test_unknown_key_names_file_line_rule_and_suggestion(problems: list[str]) -> None:
    message = find(problems, "severty")
    assert message.endswith('shootdown.toml:4: rule "heli-down": unknown key "severty" (did you mean "severity"?)')


def test_every_problem_is_reported_at_once(problems: list[str]) -> None:
    find(problems, ":5:", "bad severity 'severe'", "info, low, medium, high, critical")
    find(problems, ":10:", 'rule "heli-down"', "duplicate id", "shootdown.toml:2")
    find(problems, ":19:", 'rule "bad-regex"', "invalid regex")
    find(problems, 'rule "no-condition"', "has no condition")
    find(problems, ":30:", 'rule "bad-unit"', 'unknown unit family "trops"', 'did you mean "troops"')
    find(problems, 'rule "bad-place"', 'unknown place list "atlantis"')
    find(problems, 'rule "bad-term"', "`*` is only allowed at the end of a word")
    find(problems, 'rule "bad-term"', "character '?' is not allowed")
    assert len(problems) == 9


def test_escalation_tables_belong_to_another_stage(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, '[[escalation]]\nid = "x"\nwhatever = 1\n\n[[rule]]\nid = "a"\ntitle = "A"\n'
                                 'severity = "low"\nany = ["attack"]\n', "escalation.toml")
    assert len(rules) == 1


def test_unknown_top_level_key_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as caught:
        rules_from(tmp_path, '[[rules]]\nid = "a"\n')
    [problem] = caught.value.problems
    assert problem.endswith('rules.toml:1: unknown top-level key "rules" (did you mean "rule"?)')


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as caught:
        rules_from(tmp_path, '[[rule]]\nid = "a"\ntitle = \n')
    assert "rules.toml:3: TOML syntax error" in caught.value.problems[0]


def test_unknown_term_list_and_nested_key(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as caught:
        rules_from(tmp_path, '[terms]\nweapons = ["missile*"]\n\n[[rule]]\nid = "a"\ntitle = "A"\nseverity = "low"\n'
                             'any = ["@weapon", { near = { a = ["x"], b = ["y"], whithin = 3 } }]\n')
    problems = caught.value.problems
    find(problems, ":8:", 'unknown term list "@weapon"', 'did you mean "weapons"')
    find(problems, 'unknown key "whithin"', 'did you mean "within"')


def test_regex_matching_everything_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as caught:
        rules_from(tmp_path, '[[rule]]\nid = "a"\ntitle = "A"\nseverity = "low"\nregex = "x*"\n')
    find(caught.value.problems, "matches the empty string")


def test_missing_rule_path_is_reported(tmp_path: Path) -> None:
    with pytest.raises(RuleError) as caught:
        load_rules([tmp_path / "nowhere"])
    find(caught.value.problems, "nowhere", "does not exist")


def test_default_pack_is_valid_and_uses_exactly_the_seven_tags() -> None:
    rules = load_rules([DEFAULT_RULES])
    def tags(*, signals: bool) -> set[str]:
        return {tag for rule in rules.rules if ("escalation.toml:" in rule.source) == signals for tag in rule.tags}

    assert tags(signals=False) == {
        "buildup", "deadline", "shootdown", "casualties", "displacement", "territorial", "strike"
    }
    # The signal rules of escalation.toml feed its escalation rules: invasion-grade tags of their own.
    assert tags(signals=True) == {"rockets", "airstrikes", "mass-casualties", "offensive", "war-declared"}


def test_disabled_rule_is_validated_but_not_loaded(tmp_path: Path) -> None:
    rules = rules_from(tmp_path, '[[rule]]\nid = "a"\ntitle = "A"\nseverity = "low"\nenabled = false\n'
                                 'any = ["attack"]\n')
    assert len(rules) == 0


def test_one_read_reports_both_kinds_of_rules_in_one_wording(tmp_path: Path) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text('[[rule]]\nid = "x"\ntitle = "X"\nseverity = "high"\nterms = ["a"\n', encoding="utf-8")
    mixed = tmp_path / "mixed.toml"
    mixed.write_text(
        '[[rule]]\nid = "r"\ntitle = "R"\nseverity = "high"\nterms = ["a"]\nsevertiy = "low"\n\n'
        '[[escalation]]\nid = "e"\ngroup_by = "place"\nwindw = "7d"\n', encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_rulebook([tmp_path])
    problems = caught.value.problems
    syntax = [problem for problem in problems if "broken.toml" in problem]
    assert len(syntax) == 1 and "TOML syntax error" in syntax[0], problems
    find(problems, "mixed.toml:6:", 'rule "r": unknown key "severtiy" (did you mean "severity"?)')
    find(problems, "mixed.toml:11:", 'escalation rule "e": unknown key "windw" (did you mean "window"?)')


def test_problems_are_listed_in_file_then_line_order(tmp_path: Path) -> None:
    # The escalation table comes first in the file but is checked after the matching rules.
    (tmp_path / "b.toml").write_text(
        '[[escalation]]\nid = "e"\ngroup_by = "place"\nlevel = "high"\nwindw = "7d"\n'
        'count = { tag = "x", at_least = 2 }\n\n'
        '[[rule]]\nid = "r"\ntitle = "R"\nseverity = "high"\nany = ["a"]\nsevertiy = "low"\n', encoding="utf-8")
    (tmp_path / "a.toml").write_text('[[rule]]\nid = "q"\ntitle = "Q"\nseverity = "high"\nany = ["a"]\nzzz = 1\n',
                                     encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_rulebook([tmp_path])
    places = [problem.split(": ", 1)[0].rsplit("/", 1)[-1] for problem in caught.value.problems]
    assert places == ["a.toml:6", "b.toml:1", "b.toml:5", "b.toml:13"], caught.value.problems
