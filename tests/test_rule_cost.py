"""A rule whose matching cost is out of line is a `tocsin check` warning, and matching reads a bounded part of
each item: a 10,000-term rule and a 3,000-word item."""

from __future__ import annotations

import json
import random
import string
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from tocsin.items import Item
from tocsin.matching.cost import CACHE_FILE, costly_rules
from tocsin.matching.rules import MAX_SCANNED_CHARS, load_rules

NORMAL_RULE = '[[rule]]\nid = "shelling"\ntitle = "Shelling"\nseverity = "high"\ntags = ["strike"]\nany = ["shelled"]\n'


def pseudo_words(count: int, seed: int) -> list[str]:
    chooser = random.Random(seed)
    return ["".join(chooser.choice(string.ascii_lowercase) for _ in range(chooser.randint(5, 10)))
            for _ in range(count)]


def big_rule_dir(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    terms = ", ".join(f'"{word}"' for word in pseudo_words(10_000, seed=1))
    (rules / "big.toml").write_text(
        f'[[rule]]\nid = "big"\ntitle = "Big"\nseverity = "low"\ntags = ["strike"]\nany = [{terms}]\n'
    )
    (rules / "normal.toml").write_text(NORMAL_RULE)
    return rules


def test_check_warns_about_a_rule_of_ten_thousand_terms_and_still_passes(tmp_path: Path) -> None:
    rules = big_rule_dir(tmp_path)
    config = tmp_path / "tocsin.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[rules]\npaths = ["{rules}"]\n')
    result = subprocess.run([sys.executable, "-m", "tocsin", "check", "--config", str(config)], capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    assert "OK" in result.stdout
    (warning,) = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert f'{rules / "big.toml"}:2: rule "big": matching it costs' in warning
    assert "10,000 patterns" in warning


def test_the_shipped_rules_are_not_out_of_line(repo_root: Path) -> None:
    assert costly_rules(load_rules([repo_root / "rules"])) == []


def test_a_rule_is_measured_once_until_its_patterns_change(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "normal.toml").write_text(NORMAL_RULE + NORMAL_RULE.replace("shelling", "bombing").replace("shelled",
                                                                                                          "bombed"))
    cache = tmp_path / "cache"
    assert costly_rules(load_rules([rules]), cache=cache) == []
    stored = json.loads((cache / CACHE_FILE).read_text())
    assert len(stored["costs"]) == 2
    # What is kept is what a later check believes: made out of line, both rules warn without being measured.
    stored["costs"] = {key: 9.0 for key in stored["costs"]}
    (cache / CACHE_FILE).write_text(json.dumps(stored))
    warned = costly_rules(load_rules([rules]), cache=cache)
    assert [(problem.rule, problem.severity) for problem in warned] == [("shelling", "warning"), ("bombing", "warning")]
    assert "9,000 ms of CPU" in warned[0].message and warned[0].line == 2
    # An edited rule is measured afresh; the other's kept cost stands.
    (rules / "normal.toml").write_text(NORMAL_RULE.replace('"shelled"', '"shelled", "shellfire"')
                                       + NORMAL_RULE.replace("shelling", "bombing").replace("shelled", "bombed"))
    assert [problem.rule for problem in costly_rules(load_rules([rules]), cache=cache)] == ["bombing"]
    assert len(json.loads((cache / CACHE_FILE).read_text())["costs"]) == 3
    (cache / CACHE_FILE).write_text("{not json")
    assert costly_rules(load_rules([rules]), cache=cache) == []  # a broken cache is measured over, not an error


def test_matching_reads_a_bounded_part_of_a_long_summary(tmp_path: Path) -> None:
    rules = load_rules([big_rule_dir(tmp_path)])
    words = pseudo_words(3_000, seed=2)  # about 22,000 characters: an article pasted into a summary
    filler = " ".join(words)
    assert len(filler) > 5 * MAX_SCANNED_CHARS

    def fired(summary: str) -> list[str]:
        item = Item(id="x", feed="f", title="Overnight", link="https://news.example.org/a",
                    published=datetime(2026, 1, 1, tzinfo=UTC), summary=summary)
        return [match.rule for match in rules.match(item)]

    assert fired(f"The town was shelled. {filler}") == ["shelling"]
    # Past the bound nothing is read: neither the term of the small rule nor the end of a word cut in two.
    assert fired(f"{filler} The town was shelled.") == []
    cut_at = filler.rfind(" ", 0, MAX_SCANNED_CHARS + 1)
    assert fired(f"{filler[:cut_at]} shelled {filler[cut_at:]}") == []
    assert fired(f"{filler[:cut_at - 9]} shelled {filler[cut_at:]}") == ["shelling"]
