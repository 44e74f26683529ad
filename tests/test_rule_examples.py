"""Rule examples: texts a rule must fire on or leave quiet, validated with the rule and run by `tocsin check`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.matching_support import DEFAULT_RULES, rules_from
from tocsin.errors import RuleError
from tocsin.matching.examples import example_problems
from tocsin.matching.rules import load_rules

UNITS = '''\
[[unit]]
name = "troops"
after = ["troop*", "soldier*"]
'''

RULES = '''\
[[rule]]
id = "heli-down"
title = "Helicopter shot down"
severity = "high"
tags = ["shootdown"]
near = { a = ["helicopter*"], b = ["shot down", "shoot* down", "downed"], within = 5 }
none = ["proposal"]
examples = [
  "Rebels shoot down army helicopter near Idlib",
  { text = "Army helicopter downed\\nIt came down near Saraqib.", tags = ["shootdown"] },
]
quiet = ["Senate shoots down the helicopter proposal"]

[[rule]]
id = "massing"
title = "Troops massed"
severity = "medium"
tags = ["buildup"]
quantity = "troops >= 1000"
any = ["sent", "deploy*"]
deadline = true

[[rule.examples]]
text = "Turkey sent 7000 troops\\nThey must withdraw by the end of the month."
published = 2020-02-17T09:00:00Z
quantities = ["troops == 7000"]
deadline = 2020-02-29T23:59:59Z
'''


def write(tmp_path: Path, rules: str) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir(exist_ok=True)
    (directory / "units.toml").write_text(UNITS, encoding="utf-8")
    (directory / "pack.toml").write_text(rules, encoding="utf-8")
    return directory


def failures(tmp_path: Path, rules: str) -> list[str]:
    return example_problems(load_rules([write(tmp_path, rules)])).in_file_order()


def line_of(text: str, needle: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if needle in line)


def test_passing_examples_give_no_problem(tmp_path: Path) -> None:
    rules = load_rules([write(tmp_path, RULES)])
    assert sum(len(rule.examples) for rule in rules.rules) == 4
    assert example_problems(rules).in_file_order() == []


def test_an_example_that_does_not_fire_is_placed_at_its_line(tmp_path: Path) -> None:
    broken = RULES.replace('"Rebels shoot down army helicopter near Idlib"', '"Rebels shoot at army helicopter"')
    [problem] = failures(tmp_path, broken)
    line = line_of(broken, "Rebels shoot at")
    assert problem.endswith(f'pack.toml:{line}: rule "heli-down": example "Rebels shoot at army helicopter" '
                            "did not fire")


def test_a_quiet_text_that_fires_is_reported(tmp_path: Path) -> None:
    broken = RULES.replace("Senate shoots down the helicopter proposal", "Senate shoots down the helicopter")
    [problem] = failures(tmp_path, broken)
    line = line_of(broken, "Senate shoots down")
    assert f'pack.toml:{line}: rule "heli-down": example "Senate shoots down the helicopter" fired but must ' \
           "stay quiet" in problem


def test_a_quiet_text_is_quiet_for_the_rule_s_tags_not_only_the_rule(tmp_path: Path) -> None:
    other = '[[rule]]\nid = "proposal-down"\ntitle = "P"\nseverity = "low"\ntags = ["shootdown"]\n' \
            'terms = ["helicopter proposal"]\n'
    [problem] = failures(tmp_path, RULES + other)
    assert 'rule "heli-down": example "Senate shoots down the helicopter proposal" fired rule "proposal-down" ' \
           "(tags: shootdown) but must stay quiet" in problem


def test_wrong_tags_quantities_and_deadline_are_each_reported(tmp_path: Path) -> None:
    broken = (RULES.replace('tags = ["shootdown"] }', 'tags = ["shootdown", "strike"] }')
              .replace("troops == 7000", "troops >= 8000").replace("2020-02-29T23:59:59Z", "2020-03-01T00:00:00Z"))
    problems = failures(tmp_path, broken)
    assert len(problems) == 3, problems
    assert "gave tags [shootdown], expected [shootdown, strike]" in problems[0]
    massing = line_of(broken, "Turkey sent")
    assert problems[1].endswith(f':{massing}: rule "massing": example "Turkey sent 7000 troops They must withdraw '
                                'by the end of the..." has no quantity troops >= 8000 (read: troops 7000)')
    assert "has deadline 2020-02-29T23:59:59Z, expected 2020-03-01T00:00:00Z" in problems[2]


@pytest.mark.parametrize(("entry", "message"), [
    ('{ text = "x", tag = ["a"] }', 'examples[0]: unknown key "tag" (did you mean "tags"?)'),
    ("42", "examples[0]: expected a text or a table with a text, got int"),
    ('{ tags = ["a"] }', "examples[0]: needs a text"),
    ('{ text = "x", quantities = ["trops == 3"] }', 'unknown unit family "trops" (did you mean "troops"?)'),
    ('{ text = "x", quantities = ["lots of troops"] }', 'quantities: "lots of troops" is not a quantity'),
    ('{ text = "x", deadline = 2020-02-29T23:59:59Z }', "a deadline needs the published time"),
    ('{ text = "x", published = "yesterday" }', "published: expected a TOML date-time"),
])
def test_a_malformed_example_is_a_rule_problem_at_load(tmp_path: Path, entry: str, message: str) -> None:
    rule = f'[[rule]]\nid = "a"\ntitle = "A"\nseverity = "low"\nany = ["x"]\nexamples = [{entry}]\n'
    with pytest.raises(RuleError) as caught:
        load_rules([write(tmp_path, rule)])
    [problem] = caught.value.problems
    assert 'pack.toml:6: rule "a": ' in problem
    assert message in problem


def test_a_quiet_text_takes_no_expectations(tmp_path: Path) -> None:
    rule = '[[rule]]\nid = "a"\ntitle = "A"\nseverity = "low"\nany = ["x"]\nquiet = [{ text = "y", tags = [] }]\n'
    with pytest.raises(RuleError) as caught:
        rules_from(tmp_path, rule)
    assert 'quiet[0]: unknown key "tags" (a quiet text only has a text and a published time)' in \
        caught.value.problems[0]


def test_a_rule_scoped_to_feeds_and_languages_sees_its_examples(tmp_path: Path) -> None:
    rule = ('[[rule]]\nid = "a"\ntitle = "A"\nseverity = "low"\nany = ["attack"]\nfeeds = ["tag:syria"]\n'
            'languages = ["fr"]\nexamples = ["Une attack"]\n')
    assert failures(tmp_path, rule) == []


def test_check_runs_the_examples_and_exits_1(tmp_path: Path) -> None:
    broken = RULES.replace("near Idlib", "near Idlib today").replace("shoot down", "shoot at")
    rules = write(tmp_path, broken)
    config = tmp_path / "tocsin.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[rules]\npaths = ["{rules}"]\n', encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "tocsin", "check", "--config", str(config)], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    line = line_of(broken, "near Idlib today")
    assert f'rules/pack.toml:{line}: rule "heli-down": example "Rebels shoot at army helicopter near Idlib today" ' \
           "did not fire" in result.stderr
    assert "1 problem(s) found" in result.stdout


def test_the_default_pack_s_examples_pass() -> None:
    rules = load_rules([DEFAULT_RULES])
    assert any(rule.examples for rule in rules.rules)
    assert example_problems(rules).in_file_order() == []
