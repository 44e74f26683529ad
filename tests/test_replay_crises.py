"""Replays of two real crises (../shared/replays, BBC and CNN top stories every 6 hours) with the default rules:
escalation rings when the feeds carry the turn, announces each level once and stays readable."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import REPO, shared_path
from tocsin.alerts import Alert
from tocsin.config import Settings
from tocsin.config.model import RulesConfig
from tocsin.escalate.rules import level_rank
from tocsin.pipeline.replay import read_snapshot, replay, snapshot_files
from tocsin.rulebook import load_rulebook


@cache
def _alerts(folder: Path) -> tuple[Alert, ...]:
    settings = Settings(rules=RulesConfig(paths=(REPO / "rules",)))
    snapshots = [read_snapshot(path) for path in snapshot_files([folder])]
    return tuple(replay(snapshots, settings, load_rulebook(settings.rule_paths)))


def alerts(name: str) -> tuple[Alert, ...]:
    return _alerts(shared_path("replays", name))


def escalations(found: tuple[Alert, ...], situation: str) -> list[Alert]:
    return [alert for alert in found if alert.kind == "escalation" and alert.situation == situation]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize("name", ["gaza-2021", "afghanistan-2021"])
def test_no_level_is_announced_twice_without_first_falling_two_levels(name: str) -> None:
    by_situation: dict[str, list[Alert]] = defaultdict(list)
    for alert in alerts(name):
        if alert.kind == "escalation" and alert.situation:
            by_situation[alert.situation].append(alert)
    assert by_situation, "the crisis raises a situation"
    for situation, raised in by_situation.items():
        announced: set[int] = set()
        lowest_since: dict[int, int] = {}
        for alert in raised:
            level = level_rank(str(alert.extra["level"]))
            previous = level_rank(str(alert.extra["previous_level"]))
            for rank in announced:
                lowest_since[rank] = min(lowest_since.get(rank, rank), previous)
            if level in announced:
                assert lowest_since[level] <= level - 2, f"{situation} announced {alert.extra['level']} again"
            announced.add(level)
            lowest_since[level] = level


@pytest.mark.parametrize("name", ["gaza-2021", "afghanistan-2021"])
def test_at_most_six_alerts_a_day_on_average(name: str) -> None:
    found = alerts(name)
    days = (found[-1].created - found[0].created).total_seconds() / 86400
    assert len(found) / days <= 6


def test_afghanistan_is_one_situation_raised_by_the_fall_of_kunduz() -> None:
    raised = [alert for alert in alerts("afghanistan-2021") if alert.kind == "escalation"]
    assert {alert.situation for alert in raised} == {"theatre:Afghanistan"}, "Kabul, Kandahar: one situation"
    assert raised[0].created <= utc("2021-08-08T23:59:59")
    levels = [alert.extra["level"] for alert in raised]
    assert levels == sorted(levels, key=level_rank) and levels[-1] == "critical", "it climbs and stays"


def test_afghanistan_tracks_the_31_august_deadline() -> None:
    reminders = [alert for alert in alerts("afghanistan-2021") if alert.kind == "deadline_reminder"]
    deadline = utc("2021-08-31T23:59:59")
    assert any(a.deadline and a.deadline.at == deadline and a.extra["expired"] for a in reminders)
    assert any(a.deadline and a.deadline.at == deadline and not a.extra["expired"] for a in reminders)


def test_gaza_raises_the_gaza_situation_during_the_war() -> None:
    raised = escalations(alerts("gaza-2021"), "theatre:Israel/Palestine")
    assert raised and utc("2021-05-11T00:00:00") <= raised[0].created <= utc("2021-05-21T00:00:00")
