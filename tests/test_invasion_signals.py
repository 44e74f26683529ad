"""Invasion-grade signals: the shipped escalation rules raise a theatre straight to high or critical on the reports
that are a war's turn (both sides firing, a capital attacked or falling, a mass-casualty attack, an offensive
launched, an ultimatum that expired followed by strikes), written as rules in rules/escalation.toml."""

from __future__ import annotations

from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest

from tests.conftest import StoreOpener
from tests.scenario.helpers import REPO, T0, default_rules, escalation, item, match
from tocsin.alerts import Alert
from tocsin.clock import SimulatedClock
from tocsin.errors import RuleError
from tocsin.escalate import Escalation
from tocsin.escalate.rules import load_escalation_rules
from tocsin.matching.model import Match
from tocsin.rulebook import RuleBook, load_rulebook
from tocsin.store import Database


@cache
def shipped() -> RuleBook:
    return load_rulebook([REPO / "rules"])


class Desk:
    """The escalation stage over the shipped escalation rules, fed reports one story each."""

    def __init__(self, open_store: StoreOpener) -> None:
        self.db: Database = open_store()
        self.clock = SimulatedClock(T0)
        self.stage: Escalation = escalation(self.db, self.clock, default_rules())
        self.reports = 0

    def report(self, title: str, *matches: Match) -> list[Alert]:
        """The escalation alerts of one report."""
        self.reports += 1
        # Words of their own, so that each report is a story of its own.
        words = " ".join(f"{word}{self.reports}" for word in ("north", "depot", "bridge", "market"))
        with self.db.transaction():
            alerts = self.stage.on_item(item(f"{title} {words}"), list(matches))
        return [alert for alert in alerts if alert.kind == "escalation"]

    def wait(self, duration: timedelta) -> list[Alert]:
        alerts: list[Alert] = []
        end = self.clock.now() + duration
        while self.clock.now() < end:
            self.clock.advance(min(timedelta(hours=6), end - self.clock.now()))
            with self.db.transaction():
                alerts += self.stage.due()
        return alerts

    def level(self, situation: str) -> str | None:
        return self.stage.situations.level(situation)


def levels(alerts: list[Alert]) -> list[str]:
    return [str(alert.extra["level"]) for alert in alerts if alert.kind == "escalation"]


def test_rockets_and_air_strikes_within_a_day_are_high_and_again_critical(open_store: StoreOpener) -> None:
    desk = Desk(open_store)
    assert levels(desk.report("Rockets fired from Gaza", match("signal-rockets", "rockets", places=("Gaza",)))) == []
    desk.clock.advance(timedelta(hours=5))
    raised = desk.report("Air strikes on Gaza", match("signal-airstrikes", "airstrikes", places=("Gaza",)))
    assert levels(raised) == ["high"], "both sides firing in one theatre within hours"
    assert raised[0].situation == "theatre:Israel/Palestine"
    desk.clock.advance(timedelta(hours=20))
    desk.report("Rockets hit Ashkelon", match("signal-rockets", "rockets", places=("Ashkelon",)))
    again = desk.report("Jets strike Gaza again", match("signal-airstrikes", "airstrikes", places=("Gaza",)))
    assert levels(again) == ["critical"], "the exchange went on: two stories of each"


def test_rockets_and_air_strikes_days_apart_are_no_exchange(open_store: StoreOpener) -> None:
    desk = Desk(open_store)
    desk.report("Rockets fired from Gaza", match("signal-rockets", "rockets", places=("Gaza",)))
    desk.wait(timedelta(days=2))
    desk.report("Air strikes on Gaza", match("signal-airstrikes", "airstrikes", places=("Gaza",)))
    assert desk.level("theatre:Israel/Palestine") in (None, "watch")


def test_a_strike_in_a_capital_is_high_and_its_fall_critical(open_store: StoreOpener) -> None:
    desk = Desk(open_store)
    assert levels(desk.report("Strike in Kandahar", match("strike-air", "strike", places=("Kandahar",)))) == []
    raised = desk.report("Explosion in Kabul", match("strike-air", "strike", places=("Kabul",)))
    assert levels(raised) == ["high"] and "1 strike (in a capital) stories within 3d" in raised[0].summary
    fallen = desk.report("Taliban enter Kabul", match("territorial-control", "territorial", places=("Kabul",)))
    assert levels(fallen) == ["critical"]


def test_a_later_report_naming_the_capital_marks_the_story(open_store: StoreOpener) -> None:
    desk = Desk(open_store)
    first = item("Blast near the airport")
    with desk.db.transaction():
        desk.stage.on_item(first, [match("strike-air", "strike", places=("Afghanistan",))])
    # Another outlet's report of the same story names Kabul.
    second = item("Blast near the airport", feed="outlet-b")
    with desk.db.transaction():
        raised = desk.stage.on_item(second, [match("strike-air", "strike", places=("Kabul",))])
    assert levels(raised) == ["high"]


def test_an_offensive_and_a_mass_casualty_attack(open_store: StoreOpener) -> None:
    desk = Desk(open_store)
    killed = desk.report("Bombing kills 170", match("signal-mass-casualties", "mass-casualties", places=("Syria",)))
    assert levels(killed) == ["high"]
    launched = desk.report("Offensive launched", match("signal-offensive", "offensive", places=("Idlib",)))
    assert levels(launched) == ["critical"] and launched[0].situation == "theatre:Syria"


def test_strikes_after_an_ultimatum_expired_are_critical(open_store: StoreOpener) -> None:
    desk = Desk(open_store)
    deadline = T0 + timedelta(days=1)
    desk.report("Withdraw by tomorrow", match("deadline-ultimatum", "deadline", places=("Idlib",), deadline=deadline))
    before = desk.report("Shelling in Saraqib", match("strike-air", "strike", places=("Saraqib",)))
    assert "critical" not in levels(before), "a strike before the deadline is no threat carried out"
    assert "critical" not in levels(desk.wait(timedelta(days=1, hours=1)))
    after = desk.report("Drones strike Saraqib", match("strike-air", "strike", places=("Saraqib",)))
    assert levels(after) == ["critical"]
    assert "deadline-expired then strike within 3d" in after[0].summary
    assert "  - deadline-expired: Deadline expired: Withdraw by tomorrow" in after[0].summary


def test_signal_rules_match_real_wording_but_send_no_alert_of_their_own(open_store: StoreOpener) -> None:
    book = shipped()
    war = item("Israel-Gaza: Fears of war as violence escalates",
               "The barrage of Palestinian militant rockets and Israeli air strikes grows, in the worst violence"
               " in years.")
    found = book.matching.match(war, T0)
    assert {"signal-rockets", "signal-airstrikes"} <= {m.rule for m in found}
    db = open_store()
    stage = escalation(db, SimulatedClock(T0), book.escalation)
    with db.transaction():
        alerts = stage.on_item(war, found)
    assert not {a.rule for a in alerts if a.kind == "match"} & {"signal-rockets", "signal-airstrikes"}
    assert [a.extra["level"] for a in alerts if a.kind == "escalation"] == ["high"]


def test_the_31_august_evacuation_deadline_is_read_from_its_wording() -> None:
    wallace = item("Extension of Afghanistan evacuation deadline unlikely, says Wallace",
                   'Any extension of the 31 August evacuation deadline would be a "big bonus", the defence'
                   " secretary says.")
    found = shipped().matching.match(wallace, T0.replace(year=2021, month=8, day=24))
    dated = [m.deadline.at.isoformat() for m in found if m.deadline]
    assert dated == ["2021-08-31T23:59:59+00:00"]


@pytest.mark.parametrize(("condition", "message"), [
    ('count = { tag = "strike", at_least = 1, capital = "yes" }', "count: capital must be true or false"),
    ('combination = { tags = ["rockets", "airstrikes"], at_least = 0 }', "combination: at_least must be a whole"),
])
def test_bad_conditions_are_named_with_file_and_line(tmp_path: Path, condition: str, message: str) -> None:
    path = tmp_path / "escalation.toml"
    path.write_text(f'[[escalation]]\nid = "x"\ngroup_by = "theatre"\nwindow = "1d"\nlevel = "high"\n{condition}\n',
                    encoding="utf-8")
    with pytest.raises(RuleError) as raised:
        load_escalation_rules([path])
    assert f"escalation.toml:6: escalation rule \"x\": {message}" in str(raised.value)


def test_alert_must_be_true_or_false(tmp_path: Path) -> None:
    path = tmp_path / "r.toml"
    path.write_text('[[rule]]\nid = "x"\ntitle = "X"\nseverity = "low"\nalert = "no"\nterms = ["x"]\n',
                    encoding="utf-8")
    with pytest.raises(RuleError) as raised:
        load_rulebook([path])
    assert 'r.toml:5: rule "x": alert: expected true or false' in str(raised.value)
