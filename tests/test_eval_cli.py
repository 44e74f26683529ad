"""`tocsin eval` on a small labelled set written here: its arithmetic, its error listing, its JSON, the fixed
split, and the errors it reports for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tocsin.cli import main
from tocsin.matching.evaluate import split_part

RULES = """
[[rule]]
id = "shelling"
title = "Shelling"
severity = "high"
tags = ["strike"]
any = ["shelled", "shelling"]

[[rule]]
id = "fled"
title = "Fled"
severity = "low"
tags = ["displacement"]
any = ["fled"]
"""

# strike: gold a, b, d; fired a, c (c is a false alarm), b and d are misses -> P 1/2, R 1/3, F1 2*1/(3+2) = 0.4.
# displacement: gold c; fired c and e (a false alarm) -> P 1/2, R 1, F1 2/3. Macro-F1 (0.4 + 2/3) / 2.
# Untagged items: e, f; only f is quiet -> 1 of 2. g has no label line and is not scored.
ITEMS = [
    ("a", "Army shelled the town", ""),
    ("b", "Artillery pounds the town", ""),
    ("c", "Families fled the town", "Match report: the striker shelled the keeper."),
    ("d", "Missiles hit the port", ""),
    ("e", "Thief fled the shop", ""),
    ("f", "Weather", "Sunny."),
    ("g", "No label line", "shelled"),
]
LABELS = {"a": ["strike"], "b": ["strike"], "c": ["displacement"], "d": ["strike"], "e": [], "f": []}


def write_set(tmp_path: Path) -> list[str]:
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    items = tmp_path / "items.jsonl"
    items.write_text("".join(
        json.dumps({"id": key, "title": title, "description": text, "published": "2022-03-01 10:00:00+00:00"}) + "\n"
        for key, title, text in ITEMS), encoding="utf-8")
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps({"id": key, "labels": tags}) + "\n" for key, tags in LABELS.items()),
                      encoding="utf-8")
    return ["eval", "--labels", str(labels), "--items", str(items), "--rules", str(tmp_path / "rules.toml"),
            "--tags", "strike,displacement"]


def test_table_counts_gold_fired_right_and_the_quiet_share(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(write_set(tmp_path)) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[1].split() == ["strike", "3", "2", "1", "0.50", "0.33", "0.40"]
    assert out[2].split() == ["displacement", "1", "2", "1", "0.50", "1.00", "0.67"]
    assert out[3] == "macro-F1 0.53 over 6 item(s); 1 of 2 untagged item(s) kept quiet (0.50)"
    assert out[4] == "1 item(s) without a label line were not scored"


def test_json_has_the_same_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*write_set(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tags"]["strike"] == {"gold": 3, "fired": 2, "right": 1, "precision": 0.5,
                                        "recall": pytest.approx(1 / 3), "f1": pytest.approx(0.4)}
    assert report["macro_f1"] == pytest.approx((0.4 + 2 / 3) / 2)
    assert (report["untagged"], report["untagged_quiet"], report["without_label"]) == (2, 1, 1)


def test_errors_list_false_alarms_with_rule_and_evidence_then_misses(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*write_set(tmp_path), "--show-errors", "1"]) == 0
    out = capsys.readouterr().out
    false_alarms = out.index("strike: 1 false alarm\n")
    assert out.index('      fired: shelling [strike] on summary "shelled"', false_alarms) > false_alarms
    misses = out.index("strike: 2 misses (first 1)\n  b: Artillery pounds the town\n")
    assert "d: Missiles hit the port" not in out[misses:]
    assert "displacement: 1 false alarm\n  e: Thief fled the shop" in out
    assert "displacement: 1 miss" not in out


def test_split_is_stable_and_about_one_third_check() -> None:
    ids = [f"item-{number}" for number in range(3000)]
    assert [split_part(key) for key in ids] == [split_part(key) for key in ids]
    assert split_part("d0000") == split_part("d0000")
    check = sum(split_part(key) == "check" for key in ids)
    assert 900 < check < 1100


def test_part_scores_only_that_part(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = write_set(tmp_path)
    assert main([*args, "--part", "check", "--json"]) == 0
    check = json.loads(capsys.readouterr().out)["items"]
    assert main([*args, "--part", "tuning", "--json"]) == 0
    tuning = json.loads(capsys.readouterr().out)["items"]
    assert check + tuning == 6
    assert check == sum(split_part(key) == "check" for key in LABELS)


def test_bad_line_names_file_and_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = write_set(tmp_path)
    labels = tmp_path / "labels.jsonl"
    labels.write_text(labels.read_text() + '{"id": "x", "labels": "strike"}\n')
    assert main(args) == 1
    assert f'{labels}:7: "labels" must be a list of tags' in capsys.readouterr().err


def test_descriptions_read_as_html_like_the_daemon_reads_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = write_set(tmp_path)
    items = tmp_path / "items.jsonl"
    # A link's address is not text ("...-town-shelled-..." must not fire), and an entity is its character.
    records = [{"id": "h", "title": "Live report",
                "description": '<p>Calm today</p><a href="https://example.org/town-shelled-again">more</a>'},
               {"id": "i", "title": "Report", "description": "Families&#160;fled the town"}]
    items.write_text(items.read_text() + "".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    labels = tmp_path / "labels.jsonl"
    labels.write_text(labels.read_text() + '{"id": "h", "labels": []}\n{"id": "i", "labels": ["displacement"]}\n')
    assert main([*args, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tags"]["strike"]["fired"] == 2
    assert report["tags"]["displacement"]["right"] == 2
