"""Steady levels: a level is announced once when reached; falls need a margin and time at the lower level."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.conftest import StoreOpener
from tests.scenario.helpers import T0, escalation, item, match
from tocsin.alerts import Alert
from tocsin.clock import SimulatedClock
from tocsin.escalate import Escalation
from tocsin.escalate.rules import EscalationRuleSet, load_escalation_rules
from tocsin.store import Database

# One strike signal is worth 1; the score halves every day.
LADDER = """\
[[escalation]]
id = "strike-ladder"
title = "Strikes in one place"
group_by = "place"
ladder = { half_life = "1d", weights = { strike = 1 }, watch = 1, elevated = 2, high = 4, critical = 8 }
"""


def ladder(tmp_path: Path) -> EscalationRuleSet:
    path = tmp_path / "escalation.toml"
    path.write_text(LADDER, encoding="utf-8")
    return load_escalation_rules([path])


class Run:
    def __init__(self, tmp_path: Path, open_store: StoreOpener, **config: object) -> None:
        self.db: Database = open_store()
        self.clock = SimulatedClock(T0)
        self.stage: Escalation = escalation(self.db, self.clock, ladder(tmp_path), **config)
        self.reports = 0

    def strikes(self, count: int) -> list[Alert]:
        alerts = []
        for _ in range(count):
            self.reports += 1
            with self.db.transaction():
                # Words of their own, so that each report is a story of its own (a story signals once).
                words = " ".join(f"{word}{self.reports}" for word in ("north", "east", "depot", "bridge", "market"))
                alerts += self.stage.on_item(item(f"Strike on Aleppo {words}"),
                                             [match("strike-air", "strike", places=("Aleppo",))])
        return [alert for alert in alerts if alert.kind == "escalation"]

    def wait(self, duration: timedelta, step: timedelta = timedelta(hours=6)) -> list[Alert]:
        """Let time pass, ticking as the daemon does on its poll cycle."""
        alerts: list[Alert] = []
        end = self.clock.now() + duration
        while self.clock.now() < end:
            self.clock.advance(min(step, end - self.clock.now()))
            with self.db.transaction():
                alerts += self.stage.due()
        return alerts

    def level(self) -> str | None:
        return self.stage.situations.level("place:Aleppo")


def levels(alerts: list[Alert]) -> list[str]:
    return [str(alert.extra["level"]) for alert in alerts]


def test_a_score_that_dips_below_the_threshold_and_recovers_keeps_its_level_and_says_nothing(
    tmp_path: Path, open_store: StoreOpener
) -> None:
    run = Run(tmp_path, open_store, repeat_interval=timedelta(0))
    assert levels(run.strikes(8)) == ["elevated", "high", "critical"]
    # Half a day: 8 -> 5.7, below critical's 8 but within the 30% margin (5.6).
    assert run.wait(timedelta(hours=12)) == []
    assert run.level() == "critical"
    assert run.strikes(3) == [], "recovering to critical does not announce it again"
    assert run.level() == "critical"


def test_a_fall_waits_until_the_lower_level_has_lasted_fall_after(tmp_path: Path, open_store: StoreOpener) -> None:
    run = Run(tmp_path, open_store, fall_after=timedelta(hours=12), alert_on_fall=True)
    run.strikes(8)
    # 18 h: 8 -> 4.8, below the margin for critical (5.6); 30 h: 3.4, holding high (>= 2.8).
    fallen = run.wait(timedelta(hours=18))
    assert fallen == [] and run.level() == "critical", "below the margin, but not yet for 12 h"
    fallen = run.wait(timedelta(hours=12))
    assert levels(fallen) == ["high"]
    assert fallen[0].title == "Aleppo: de-escalated to high"


def test_a_short_lull_does_not_end_the_level(tmp_path: Path, open_store: StoreOpener) -> None:
    run = Run(tmp_path, open_store, fall_after=timedelta(hours=48))
    run.strikes(8)
    run.wait(timedelta(hours=36))  # below the margin for 12 h or more
    run.strikes(6)  # reports resume: the score is back above critical's hold
    run.wait(timedelta(hours=30))
    assert run.level() == "critical", "the pending fall was called off when the score recovered"


def test_falls_are_silent_unless_alert_on_fall(tmp_path: Path, open_store: StoreOpener) -> None:
    run = Run(tmp_path, open_store, fall_after=timedelta(hours=12))
    run.strikes(8)
    assert run.wait(timedelta(days=10)) == []
    assert run.level() is None


def test_a_level_is_announced_again_only_after_falling_two_levels(tmp_path: Path, open_store: StoreOpener) -> None:
    run = Run(tmp_path, open_store, fall_after=timedelta(hours=12), repeat_interval=timedelta(0))
    assert levels(run.strikes(8)) == ["elevated", "high", "critical"]
    run.wait(timedelta(hours=30))  # 8 -> 3.4: high holds (>= 2.8), critical does not
    assert run.level() == "high"
    assert run.strikes(6) == [], "back to critical after one level down: not announced again"
    assert run.level() == "critical"
    run.wait(timedelta(hours=60))  # 9.x -> ~1.6: elevated holds only down to 1.4
    assert run.level() == "elevated"
    assert levels(run.strikes(7)) == ["high", "critical"], "two levels down and back up: a new turn, announced"


def test_each_level_change_is_kept_for_the_timeline(tmp_path: Path, open_store: StoreOpener) -> None:
    run = Run(tmp_path, open_store, fall_after=timedelta(hours=12))
    run.strikes(8)
    run.wait(timedelta(days=10))
    rows = run.db.connection.execute(
        "SELECT level, previous, alert_id IS NOT NULL FROM situation_changes WHERE situation = 'place:Aleppo' "
        "ORDER BY at, level"
    ).fetchall()
    changes = [tuple(row) for row in rows]
    assert changes[:4] == [(1, 0, 0), (2, 1, 1), (3, 2, 1), (4, 3, 1)]
    assert changes[-1][0] == 0 and all(not alerted for _, _, alerted in changes[4:])
