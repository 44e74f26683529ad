"""`tocsin situations` and `tocsin situations show KEY` on a state escalation wrote, in SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from tests.scenario.helpers import T0, item, match
from tests.test_steady_levels import LADDER
from tocsin.cli import main
from tocsin.clock import SimulatedClock
from tocsin.config import load_config
from tocsin.escalate import Escalation
from tocsin.rulebook import load_rulebook
from tocsin.store.backend import open_store


def state(tmp_path: Path, store_toml: str) -> Path:
    """A configuration whose state (SQLite or PostgreSQL: `store_toml`) holds Aleppo at critical (ten strike
    stories) and Hama at watch."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "escalation.toml").write_text(LADDER, encoding="utf-8")
    config = tmp_path / "tocsin.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[rules]\npaths = ["{rules}"]\n{store_toml}',
                      encoding="utf-8")
    settings = load_config(config)
    db = open_store(settings)
    clock = SimulatedClock(T0)
    stage = Escalation(db, settings.escalation, clock, load_rulebook(settings.rule_paths).escalation)
    reports = [("Aleppo", n) for n in range(10)] + [("Hama", 10)]
    for place, n in reports:
        clock.advance(timedelta(minutes=10))
        words = " ".join(f"{word}{n}" for word in ("depot", "bridge", "market", "road", "square"))
        title = f"Strike on {place} {words} \x1b[2J"
        with db.transaction():
            stage.on_item(item(title, feed="Levant Daily"), [match("strike-air", "strike", places=(place,))])
    db.close()
    return config


def test_situations_lists_each_situation_with_its_level_since_when_and_strongest_signals(
    tmp_path: Path, store_toml: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = state(tmp_path, store_toml)
    assert main(["situations", "--config", str(config), "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(s["situation"], s["level"]) for s in listed] == [("place:Aleppo", "critical"), ("place:Hama", "watch")]
    aleppo = listed[0]
    assert aleppo["opened"] == "2020-02-17T08:10:00Z", "watch came with the first report"
    assert "2020-02-17T08:10:00Z" < aleppo["since"] <= "2020-02-17T09:40:00Z"
    assert isinstance(aleppo["score"], float)
    assert aleppo["reasons"] and aleppo["reasons"][0].startswith("strike-ladder: score")
    assert len(aleppo["signals"]) == 5 and all(s["tag"] == "strike" for s in aleppo["signals"])
    assert aleppo["signals"][0]["item"]["title"].startswith("Strike on Aleppo depot9"), "newest first"

    assert main(["situations", "--config", str(config)]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].startswith("place:Aleppo  critical  score ")
    assert "\x1b" not in text, "feed text cannot reach the terminal as escape sequences"


def test_situations_show_gives_the_timeline_of_signals_and_level_changes(
    tmp_path: Path, store_toml: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = state(tmp_path, store_toml)
    assert main(["situations", "--config", str(config), "show", "place:Aleppo", "--json"]) == 0
    events = json.loads(capsys.readouterr().out)  # one JSON array, like every command that lists state
    assert sum(event["event"] == "signal" for event in events) == 10
    changes = [(e["previous_level"], e["level"], e["alert_id"] is not None) for e in events if e["event"] == "level"]
    assert changes == [("none", "watch", False), ("watch", "elevated", True), ("elevated", "high", True),
                       ("high", "critical", True)]
    # Each level change follows the signal that caused it.
    kinds = [event["event"] for event in events]
    assert kinds[:2] == ["signal", "level"]

    assert main(["situations", "--config", str(config), "show", "place:Aleppo"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert any(line.endswith("level high -> critical  (alerted)  strike-ladder: score 8.8 (half-life 1d)")
               for line in lines), lines


def test_an_unknown_situation_is_an_error_that_names_the_known_ones(
    tmp_path: Path, store_toml: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config = state(tmp_path, store_toml)
    assert main(["situations", "--config", str(config), "show", "place:Aleppp"]) == 1
    error = capsys.readouterr().err
    assert 'no situation "place:Aleppp"' in error and "place:Aleppo" in error
