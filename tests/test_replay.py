"""`tocsin replay` prints, as a separate process, exactly the alerts of the live scenario run, delivering nothing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import terminal
from tests.test_scenario import EXPECTED, SCENARIO, run_live
from tocsin.alerts import Alert


def replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tocsin", "replay", *args], capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def replayed() -> list[dict[str, object]]:
    done = replay("--json", "--config", str(SCENARIO / "tocsin.toml"), "--silences", str(SCENARIO / "silences.toml"),
                  str(SCENARIO / "snapshots"))
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_replay_prints_the_live_sequence(replayed: list[dict[str, object]], tmp_path: Path) -> None:
    live, run = run_live(tmp_path, restart=True)
    run.db.close()
    assert replayed == [alert.to_json() for alert in live]
    assert len(replayed) == len(EXPECTED)


def test_replayed_alerts_are_webhook_bodies(replayed: list[dict[str, object]]) -> None:
    schema_path = Path(__file__).resolve().parent.parent / "docs" / "alert.schema.json"
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    for body in replayed:
        jsonschema.validate(body, schema)
        assert Alert.from_json(body).to_json() == body


def test_replay_without_the_silence_shows_what_it_held(replayed: list[dict[str, object]]) -> None:
    done = replay("--json", "--config", str(SCENARIO / "tocsin.toml"), str(SCENARIO / "snapshots"))
    assert done.returncode == 0, done.stderr
    unsilenced = [json.loads(line) for line in done.stdout.splitlines()]
    extra = [a for a in unsilenced if a not in replayed]
    assert [(a["kind"], a["rule"]) for a in extra] == [("match", "casualties")]


def test_replay_text_output_lists_one_alert_per_line() -> None:
    done = replay("--config", str(SCENARIO / "tocsin.toml"), *sorted(str(p) for p in (SCENARIO / "snapshots").glob(
        "0*.xml")))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("2020-02-20T09:00:00Z  match")
    assert "Syria: escalation level elevated" in done.stdout


def test_an_unreadable_snapshot_is_skipped_with_a_warning(replayed: list[dict[str, object]],
                                                          tmp_path: Path) -> None:
    snapshots = tmp_path / "snapshots"
    shutil.copytree(SCENARIO / "snapshots", snapshots)
    (snapshots / "00-page.xml").write_text("<html><body>not a feed</body></html>", encoding="utf-8")
    done = replay("--json", "--config", str(SCENARIO / "tocsin.toml"), "--silences", str(SCENARIO / "silences.toml"),
                  str(snapshots))
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == replayed
    [warning] = done.stderr.splitlines()
    assert warning.startswith("warning: ") and "00-page.xml" in warning and "skipped" in warning


def test_strict_stops_at_an_unreadable_snapshot_naming_the_file(tmp_path: Path) -> None:
    page = tmp_path / "page.xml"
    page.write_text("<html><body>not a feed</body></html>", encoding="utf-8")
    done = replay("--strict", "--config", str(SCENARIO / "tocsin.toml"), str(page))
    assert done.returncode == 1
    assert "page.xml" in done.stderr and done.stdout == ""


def test_invalid_escalation_rules_exit_78_with_file_and_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[escalation]]\nid = "x"\ngroup_by = "planet"\nwindow = "7d"\nlevel = "high"\n'
                     'count = { tag = "shootdown", at_least = 2 }\n', encoding="utf-8")
    done = replay("--config", str(SCENARIO / "tocsin.toml"), "--rules", str(rules), str(SCENARIO / "snapshots"))
    assert done.returncode == 78
    assert f"{rules}:3:" in done.stderr and 'group_by "planet"' in done.stderr


def test_until_keeps_the_clock_running_for_later_reminders() -> None:
    early = sorted(str(p) for p in (SCENARIO / "snapshots").glob("0*.xml"))
    without = replay("--json", "--config", str(SCENARIO / "tocsin.toml"), *early)
    with_until = replay("--json", "--config", str(SCENARIO / "tocsin.toml"), "--until", "2020-03-01T00:00", *early)
    assert without.returncode == with_until.returncode == 0, with_until.stderr
    added = [json.loads(line) for line in with_until.stdout.splitlines()[len(without.stdout.splitlines()):]]
    assert [(a["kind"], a["created"]) for a in added] == [
        ("deadline_reminder", "2020-02-28T23:59:59Z"), ("deadline_reminder", "2020-02-29T23:59:59Z")]


def test_snapshots_given_out_of_time_order_are_replayed_in_it_and_said_so(replayed: list[dict[str, object]]) -> None:
    backwards = sorted((str(path) for path in (SCENARIO / "snapshots").iterdir()), reverse=True)
    done = replay("--json", "--config", str(SCENARIO / "tocsin.toml"), "--silences", str(SCENARIO / "silences.toml"),
                  *backwards)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in done.stdout.splitlines()] == replayed
    [note] = done.stderr.splitlines()
    assert note.startswith("note: 24 of 24 snapshot(s) were not given in time order")
    assert "01-aw.xml, 2020-02-20T09:00:00Z, was given after 24-ld.xml, 2020-03-01T10:00:00Z" in note


def test_snapshots_in_time_order_need_no_note() -> None:
    done = replay("--config", str(SCENARIO / "tocsin.toml"), str(SCENARIO / "snapshots"))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_a_progress_bar_on_a_terminal_and_none_on_a_pipe(tmp_path: Path) -> None:
    snapshots = tmp_path / "snapshots"
    shutil.copytree(SCENARIO / "snapshots", snapshots)
    (snapshots / "00-page.xml").write_text("<html><body>not a feed</body></html>", encoding="utf-8")
    args = ("replay", "--config", str(SCENARIO / "tocsin.toml"), str(snapshots))
    ran = terminal.on_a_terminal(*args, stream="stderr")
    assert ran.returncode == 0, ran.terminal
    # tqdm's bars, redrawn after carriage returns: the files read, then the snapshots replayed.
    assert re.search(r"\rreading: +\d+%\|.*\| \d+/25 ", ran.terminal)
    assert re.search(r"\rreplaying: +\d+%\|.*\| \d+/24 ", ran.terminal)
    assert "warning: " in ran.terminal and "00-page.xml" in ran.terminal
    piped = replay(*args[1:])
    assert piped.stdout == ran.piped and "Syria: escalation level elevated" in piped.stdout
    [warning] = piped.stderr.splitlines()
    assert "00-page.xml" in warning
