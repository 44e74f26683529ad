"""Loading `[[escalation]]` tables: every problem at once, each with file:line and the rule id."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.scenario.helpers import REPO
from tocsin.errors import RuleError
from tocsin.escalate.rules import Combination, Count, Ladder, load_escalation_rules

BROKEN = """\
[[rule]]
id = "not-mine"

[[escalation]]
id = "typo"
group_by = "place"
windw = "7d"
level = "high"
count = { tag = "shootdown", at_least = 2 }

[[escalation]]
id = "bad-values"
group_by = "planet"
window = "a week"
level = "severe"
combination = { tags = ["buildup"] }

[[escalation]]
id = "two-conditions"
group_by = "place"
window = "7d"
level = "high"
count = { tag = "strike", at_least = 3 }
combination = { tags = ["buildup", "deadline"] }

[[escalation]]
id = "bad-ladder"
group_by = "actor"
ladder = { half_life = "3d", weights = { strike = 1 }, watch = 5, elevated = 2 }

[[escalation]]
id = "typo"
group_by = "tag"
window = "1d"
level = "watch"
count = { rule = "airstrike", at_least = 0 }
"""


def test_the_default_escalation_rules_load() -> None:
    loaded = load_escalation_rules([REPO / "rules"])
    by_id = {rule.id: rule for rule in loaded.rules}
    assert isinstance(by_id["repeated-shootdown"].condition, Count)
    assert by_id["repeated-shootdown"].window == timedelta(days=7)
    assert isinstance(by_id["buildup-and-deadline"].condition, Combination)
    assert isinstance(by_id["theatre-ladder"].condition, Ladder)
    tags = {"buildup", "deadline", "shootdown", "casualties", "displacement", "territorial", "strike"}
    assert set(by_id["theatre-ladder"].condition.weights) == tags  # type: ignore[union-attr]


def test_every_problem_is_reported_with_file_line_and_rule(tmp_path: Path) -> None:
    path = tmp_path / "escalation.toml"
    path.write_text(BROKEN, encoding="utf-8")
    with pytest.raises(RuleError) as caught:
        load_escalation_rules([path])
    problems = caught.value.problems
    expected = [
        f'{path}:7: escalation rule "typo": unknown key "windw" (did you mean "window"?)',
        f'{path}:4: escalation rule "typo": required key "window" is missing (write 7d, 48h)',
        f'{path}:13: escalation rule "bad-values": group_by "planet" is not one of place, country, theatre, actor, '
        "rule, tag",
        f'{path}:16: escalation rule "bad-values": combination: tags must list two or more tags, e.g. '
        '["buildup", "deadline"]',
        f'{path}:14: escalation rule "bad-values": window: "a week" is not a duration',
        f'{path}:15: escalation rule "bad-values": level "severe" is not one of watch, elevated, high, critical',
        f'{path}:18: escalation rule "two-conditions": give exactly one condition of count, combination, ladder '
        "(found 2)",
        f'{path}:29: escalation rule "bad-ladder": ladder: scores must rise with the level',
        f'{path}:36: escalation rule "typo": count: at_least must be a whole number of 1 or more (got 0)',
        f'{path}:31: escalation rule "typo": duplicate id (first defined at {path}:4)',
    ]
    for start in expected:
        assert any(problem.startswith(start) for problem in problems), (start, problems)
    assert len(problems) == len(expected)


def test_a_missing_rule_path_is_a_problem(tmp_path: Path) -> None:
    with pytest.raises(RuleError, match="does not exist"):
        load_escalation_rules([tmp_path / "nowhere"])


def test_tocsin_check_reports_escalation_problems(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "escalation.toml").write_text(BROKEN.split("[[escalation]]\nid = \"bad-values\"")[0], encoding="utf-8")
    config = tmp_path / "tocsin.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[rules]\npaths = ["rules"]\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "tocsin", "check", "--config", str(config)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert 'unknown key "windw" (did you mean "window"?)' in done.stderr
