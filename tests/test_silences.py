"""Silences: matching alerts are recorded and listed, not returned; the `tocsin silence` command manages them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import StoreOpener
from tests.scenario.helpers import T0, escalation, item, match
from tocsin.clock import SimulatedClock
from tocsin.escalate.silences import Matcher, Silences


def test_a_silence_suppresses_matching_alerts_only_while_it_runs(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock)
    silence = stage.silences.add((Matcher.parse("rule=shootdown"), Matcher.parse("place=idlib")), T0,
                                 timedelta(hours=6), "known incident", T0)
    with db.transaction():
        held = stage.on_item(item("Helicopter downed over Idlib"), [match("shootdown-aircraft", "shootdown",
                                                                          places=("Idlib",))])
        elsewhere = stage.on_item(item("Drone downed over Kharkiv", feed="b"),
                                  [match("shootdown-drone", "shootdown", places=("Kharkiv",))])
        other_rule = stage.on_item(item("Airstrike on Idlib market", feed="c"),
                                   [match("shootdowns-weekly", "strike", places=("Idlib",))])
    assert held == []
    assert [a.places for a in elsewhere] == [("Kharkiv",)]
    assert len(other_rule) == 1, "rule=shootdown covers shootdown and shootdown-*, not every prefix"
    suppressed = stage.silences.suppressed(silence.id)
    assert [(s.reason, s.alert.title) for s in suppressed] == [("silenced", "Shootdown aircraft: Helicopter downed "
                                                                "over Idlib")]
    clock.advance(timedelta(hours=7))
    with db.transaction():
        later = stage.on_item(item("Jet shot down in Idlib", feed="c", link="https://c.example/jet"),
                              [match("shootdown-jet", "shootdown", places=("Idlib",))])
    assert len(later) == 1


def test_expire_ends_a_silence_now(open_store: StoreOpener) -> None:
    silences = Silences(open_store())
    silence = silences.add((Matcher.parse("tag=strike"),), T0, timedelta(days=1), "", T0)
    assert silences.expire(silence.id, T0 + timedelta(hours=1))
    assert not silences.expire(silence.id, T0 + timedelta(hours=2))
    assert silences.current(T0 + timedelta(hours=2)) == []
    assert [s.id for s in silences.current(T0, include_expired=True)] == [silence.id]


@pytest.mark.parametrize("text", ["rule", "rule=", "colour=red", "=x"])
def test_bad_matchers_say_how_to_write_them(text: str) -> None:
    with pytest.raises(ValueError, match="KEY=VALUE"):
        Matcher.parse(text)


def tocsin(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tocsin", *args, "--config", str(config)], capture_output=True,
                          text=True, timeout=60, check=False)


def test_silence_command_adds_lists_and_expires(tmp_path: Path, store_toml: str) -> None:
    config = tmp_path / "tocsin.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[rules]\npaths = []\n{store_toml}', encoding="utf-8")
    added = tocsin(config, "silence", "add", "--match", "rule=shootdown", "--match", "place=Idlib", "--for", "6h",
                   "--comment", "handled by the desk")
    assert added.returncode == 0, added.stderr
    silence_id = added.stdout.split()[0]
    assert silence_id.startswith("sil_")
    listed = tocsin(config, "silence", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    [entry] = json.loads(listed.stdout)  # one JSON array, as feeds --json and alerts --json
    assert entry["matchers"] == ["rule=shootdown", "place=Idlib"] and entry["comment"] == "handled by the desk"
    assert entry["suppressed"] == 0
    # `add` prints its end to the second, as the table does; the table has a header row.
    ends = re.search(r"until (\S+)$", added.stdout.strip())
    assert ends and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", ends.group(1)), added.stdout
    header, row = tocsin(config, "silence", "list").stdout.splitlines()
    assert header.split() == ["ID", "STATE", "ENDS", "LEFT", "HELD", "MATCHERS", "COMMENT"]
    assert row.startswith(silence_id) and ends.group(1) in row and "handled by the desk" in row
    assert row.index(ends.group(1)) == header.index("ENDS")
    assert tocsin(config, "silence", "expire", silence_id).returncode == 0
    assert json.loads(tocsin(config, "silence", "list", "--json").stdout) == []
    assert tocsin(config, "silence", "expire", silence_id).returncode == 1
    bad = tocsin(config, "silence", "add", "--match", "colour=red", "--for", "1h")
    assert bad.returncode == 64 and "unknown matcher key" in bad.stderr


def test_held_alerts_and_ended_silences_are_pruned_after_30_days(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock)
    stage.silences.add((Matcher.parse("tag=strike"),), T0, timedelta(hours=1), "", T0)
    with db.transaction():
        stage.on_item(item("Airstrikes pound Idlib villages"), [match("airstrike", "strike", places=("Idlib",))])
    clock.advance(timedelta(days=29))
    with db.transaction():
        stage.due()
    assert len(stage.silences.suppressed()) == 1
    assert len(stage.silences.current(clock.now(), include_expired=True)) == 1
    clock.advance(timedelta(days=2))
    with db.transaction():
        stage.due()
    assert stage.silences.suppressed() == []
    assert stage.silences.current(clock.now(), include_expired=True) == []


def test_add_warns_of_a_matcher_that_names_no_known_rule_tag_or_place(tmp_path: Path) -> None:
    config = tmp_path / "tocsin.toml"  # the shipped rules and gazetteer
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[[feeds]]\nname = "wire"\nurl = "https://w.example/"\n',
                      encoding="utf-8")
    typos = tocsin(config, "silence", "add", "--match", "rule=stirke", "--match", "place=Idlbi", "--match",
                   "tag=casualtis", "--match", "feed=wier", "--match", "kind=escalation", "--for", "1h")
    assert typos.returncode == 0 and typos.stdout.startswith("sil_"), "a warning, not a refusal"
    assert typos.stderr.splitlines() == [
        'warning: matcher "rule=stirke" names no known rule; did you mean "rule=strike"? (added all the same)',
        'warning: matcher "place=Idlbi" names no known place; did you mean "place=Idlib"? (added all the same)',
        'warning: matcher "tag=casualtis" names no known tag; did you mean "tag=casualties"? (added all the same)',
        'warning: matcher "feed=wier" names no known feed; did you mean "feed=wire"? (added all the same)',
    ]
    known = tocsin(config, "silence", "add", "--match", "rule=shootdown", "--match", "place=idlib", "--match",
                   "tag=strike", "--match", "rule=theatre-*", "--match", "severity=high", "--for", "1h")
    assert known.returncode == 0 and known.stderr == ""
