"""`tocsin eval` on ACLED exports (`--acled`: tags from the event coding, plus a labels file) and on saved feed
files (`--feeds`, ids FILE#HASH), with fixtures written here and rules whose firing is known."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tocsin.cli import main

RULES = """
[[rule]]
id = "shelling"
title = "Shelling"
severity = "high"
tags = ["strike"]
any = ["shelled"]

[[rule]]
id = "killed"
title = "Killed"
severity = "high"
tags = ["casualties"]
any = ["killed", "wounded"]

[[rule]]
id = "down"
title = "Down"
severity = "high"
tags = ["shootdown"]
any = ["shot down"]
"""

COLUMNS = ["event_id_cnty", "event_date", "sub_event_type", "notes", "fatalities", "country"]
# strike: gold E1, E2 (by sub-event type), fired E1. casualties: gold E1, E3 (fatalities > 0), fired E1, E3 and
# falsely E5 ("no one was killed"); E4 reports no deaths but a wounded farmer and is not scored for casualties.
# shootdown: gold E5 (only from the labels file), fired E5.
EVENTS = [
    ("E1", "2022-03-01", "Shelling/artillery/missile attack",
     "Forces shelled the village and killed 3. [size=no report]", "3"),
    ("E2", "2022-03-02", "Air/drone strike", "A drone hit a depot.", "0"),
    ("E3", "2022-03-03", "Armed clash", "Two soldiers were killed in a clash.", "2"),
    ("E4", "2022-03-04", "Attack", "Gunmen wounded a farmer.", "0"),
    ("E5", "2022-03-05", "Remote explosive/landmine/IED", "A drone was shot down; no one was killed.", "0"),
]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["eval", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def acled_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    events = tmp_path / "events.csv"
    with events.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows([*event, "Nowhere"] for event in EVENTS)
    labels = tmp_path / "acled-labels.jsonl"
    labels.write_text(json.dumps({"id": "E5", "labels": ["shootdown"], "why": "a drone shot down"}) + "\n",
                      encoding="utf-8")
    return tmp_path / "rules.toml", events, labels


def test_acled_events_are_scored_by_their_coding_and_labels(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    rules, events, labels = acled_files(tmp_path)
    code, out, _ = run(["--acled", str(events), "--labels", str(labels), "--rules", str(rules), "--json"], capsys)
    assert code == 0
    report = json.loads(out)
    tags = report["tags"]
    assert report["items"] == 5
    assert (tags["strike"]["gold"], tags["strike"]["fired"], tags["strike"]["right"]) == (2, 1, 1)
    # E4 reports only the wounded, which a count of deaths cannot decide: it is left out of casualties.
    assert (tags["casualties"]["gold"], tags["casualties"]["fired"], tags["casualties"]["right"]) == (2, 3, 2)
    assert (tags["shootdown"]["gold"], tags["shootdown"]["fired"], tags["shootdown"]["right"]) == (1, 1, 1)


def test_acled_without_labels_has_no_hand_tags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules, events, _ = acled_files(tmp_path)
    code, out, _ = run(["--acled", str(events), "--rules", str(rules), "--json", "--tags", "shootdown"], capsys)
    assert code == 0
    assert json.loads(out)["tags"]["shootdown"] == {"gold": 0, "fired": 1, "right": 0, "precision": 0.0,
                                                    "recall": None, "f1": 0.0}


def test_a_csv_that_is_not_acled_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules, _, _ = acled_files(tmp_path)
    other = tmp_path / "other.csv"
    other.write_text("id,title\n1,x\n", encoding="utf-8")
    code, _, err = run(["--acled", str(other), "--rules", str(rules)], capsys)
    assert code == 1
    missing = "event_id_cnty, event_date, sub_event_type, notes, fatalities"
    assert f"{other}: not an ACLED export: no column {missing}" in err


FEED = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Desk</title><link>https://example.org/</link><description>d</description>
<item><title>Army shelled the town</title><link>https://example.org/1</link>
  <description>Two killed.</description></item>
<item><title>Rates held steady</title><link>https://example.org/2</link>
  <description>Markets calm.</description></item>
<item><title>Not labelled</title><link>https://example.org/3</link><description>shelled</description></item>
</channel></rss>
"""


def test_feed_files_are_labelled_by_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    feeds = tmp_path / "feeds"
    feeds.mkdir()
    (feeds / "desk.xml").write_text(FEED, encoding="utf-8")
    code, out, _ = run(["--feeds", str(feeds), "--list-ids"], capsys)
    assert code == 0
    ids = [line.split("\t")[0] for line in out.splitlines()]
    assert [line.split("\t")[1] for line in out.splitlines()] == ["Army shelled the town", "Rates held steady",
                                                                  "Not labelled"]
    assert all(item_id.startswith("desk.xml#") and len(item_id) == len("desk.xml#") + 12 for item_id in ids)
    labels = tmp_path / "labels.jsonl"
    labels.write_text(json.dumps({"id": ids[0], "labels": ["strike", "casualties"]}) + "\n"
                      + json.dumps({"id": ids[1], "labels": []}) + "\n", encoding="utf-8")
    code, out, _ = run(["--feeds", str(feeds), "--labels", str(labels), "--rules", str(tmp_path / "rules.toml"),
                        "--json"], capsys)
    report = json.loads(out)
    assert code == 0
    assert (report["items"], report["without_label"], report["untagged_quiet"]) == (2, 1, 1)
    assert report["tags"]["strike"]["right"] == report["tags"]["casualties"]["right"] == 1


def test_items_and_feeds_need_labels(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["--items", str(tmp_path / "items.jsonl")], capsys)
    assert code == 64
    assert "--labels is needed with --items and --feeds" in err
