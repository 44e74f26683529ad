"""Situations: counts, combinations and ladders raise a place's level; escalation alerts explain themselves."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from tests.conftest import StoreOpener
from tests.scenario.helpers import T0, default_rules, escalation, item, match
from tocsin.alerts import Alert
from tocsin.clock import SimulatedClock
from tocsin.escalate import Escalation, match_summary
from tocsin.escalate.rules import load_escalation_rules
from tocsin.matching.model import Evidence, Match, Quantity
from tocsin.severity import Severity
from tocsin.store import Database


def feed(stage: Escalation, db: Database, title: str, *matches: Match, outlet: str = "outlet-a") -> list[Alert]:
    with db.transaction():
        return stage.on_item(item(title, feed=outlet), list(matches))


def shootdown() -> Match:
    return match("shootdown-aircraft", "shootdown", places=("Idlib",), actors=("Turkey",))


def test_second_shootdown_in_one_place_within_7_days_raises_the_level_to_high(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, default_rules())
    first = feed(stage, db, "Rebels shoot down Syrian helicopter over Idlib", shootdown())
    assert [a.kind for a in first] == ["match"]
    clock.advance(timedelta(days=4))
    second = feed(stage, db, "Second Syrian helicopter downed near Nairab in Idlib", shootdown())
    assert [a.kind for a in second] == ["match", "escalation"]
    raised = second[1]
    assert raised.situation == "theatre:Syria"
    assert raised.extra["level"] == "high" and raised.extra["previous_level"] == "watch"
    assert raised.rule == "repeated-shootdown"
    assert raised.severity.value == "high"
    assert "2 shootdown stories within 7d" in raised.summary
    assert [i.title for i in raised.items] == [
        "Rebels shoot down Syrian helicopter over Idlib", "Second Syrian helicopter downed near Nairab in Idlib"
    ]
    finding = next(f for f in raised.extra["findings"] if f["rule"] == "repeated-shootdown")
    assert [s["tag"] for s in finding["signals"]] == ["shootdown", "shootdown"]


def test_shootdowns_more_than_7_days_apart_do_not_count_together(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, default_rules())
    feed(stage, db, "Rebels shoot down Syrian helicopter over Idlib", shootdown())
    clock.advance(timedelta(days=8))
    assert [a.kind for a in feed(stage, db, "Another helicopter downed in Idlib", shootdown())] == ["match"]


def test_buildup_then_deadline_raises_the_level(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, default_rules())
    feed(stage, db, "Turkey sends 7000 troops into Idlib", match("buildup-troops", "buildup", places=("Idlib",)))
    clock.advance(timedelta(days=2))
    alerts = feed(stage, db, "Erdogan gives Damascus until end of month to pull back in Idlib",
                  match("ultimatum", "deadline", places=("Idlib",), deadline=T0 + timedelta(days=12)))
    assert [a.kind for a in alerts] == ["match", "escalation"]
    assert alerts[1].extra["level"] == "elevated"
    assert alerts[1].rule == "buildup-and-deadline"


def test_the_same_level_is_not_alerted_twice_within_the_repeat_interval(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, default_rules(), repeat_interval=timedelta(days=3))
    feed(stage, db, "Rebels shoot down Syrian helicopter over Idlib", shootdown())
    clock.advance(timedelta(hours=6))
    assert [a.kind for a in feed(stage, db, "Drone shot down above Saraqeb, Idlib", shootdown())] == [
        "match", "escalation"]
    clock.advance(timedelta(days=8))
    for _ in range(2):  # the fall starts, then lands fall_after later, quietly (alert_on_fall is off)
        with db.transaction():
            assert stage.due() == []
        clock.advance(timedelta(hours=48))
    assert stage.situations.level("theatre:Syria") is None
    feed(stage, db, "Jet downed over Idlib countryside", shootdown())
    clock.advance(timedelta(hours=6))
    again = feed(stage, db, "Helicopter crew killed as rebels hit aircraft over Idlib", shootdown())
    assert [a.kind for a in again] == ["match", "escalation"], "8 days later the same level alerts again"


def test_falls_are_alerted_when_configured(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, default_rules(), alert_on_fall=True)
    feed(stage, db, "Rebels shoot down Syrian helicopter over Idlib", shootdown())
    feed(stage, db, "Drone shot down above Saraqeb, Idlib", shootdown())
    clock.advance(timedelta(days=8))
    with db.transaction():
        assert stage.due() == [], "a fall waits for fall_after"
    clock.advance(timedelta(hours=48))
    with db.transaction():
        fallen = stage.due()
    assert [(a.kind, a.extra["previous_level"], a.extra["level"]) for a in fallen] == [
        ("escalation", "high", "none")]
    assert fallen[0].title == "Syria: escalation over"


def test_the_ladder_accumulates_decaying_signals(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, default_rules())
    tags = ("strike", "casualties", "displacement", "territorial", "buildup")
    alerts = []
    for number, tag in enumerate(tags):
        clock.advance(timedelta(hours=3))
        alerts += feed(stage, db, f"Report {number} {tag} in Aleppo", match(f"{tag}-rule", tag, places=("Aleppo",)))
    escalations = [a for a in alerts if a.kind == "escalation"]
    assert [a.extra["level"] for a in escalations] == ["elevated"]
    assert escalations[0].rule == "theatre-ladder"
    assert stage.situations.level("theatre:Syria") == "elevated"
    for _ in range(2):
        clock.advance(timedelta(days=9))
        with db.transaction():
            stage.due()
    assert stage.situations.level("theatre:Syria") is None


def test_a_story_counts_once_however_many_outlets_report_it(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, default_rules())
    alerts = []
    for outlet in ("a", "b", "c", "d"):
        clock.advance(timedelta(minutes=30))
        alerts += feed(stage, db, "Rebels shoot down Syrian helicopter over Idlib", shootdown(), outlet=outlet)
    assert [a.kind for a in alerts] == ["match"]


def test_a_rule_realerts_for_a_place_only_after_its_interval(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, realert_per_rule={"airstrike": timedelta(hours=6)})
    strike = match("airstrike", "strike", places=("Idlib",))
    assert len(feed(stage, db, "Airstrikes pound Idlib villages", strike)) == 1
    clock.advance(timedelta(hours=2))
    assert feed(stage, db, "Market in Sarmin bombed by jets overnight", strike) == []
    clock.advance(timedelta(hours=5))
    assert len(feed(stage, db, "Shelling hits hospital near Ariha", strike)) == 1
    held = stage.silences.suppressed()
    assert [(s.reason, s.alert.title) for s in held] == [("throttled", "Airstrike: Market in Sarmin bombed by "
                                                          "jets overnight")]


def test_a_reload_swaps_the_escalation_rules_and_keeps_the_state(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock)
    feed(stage, db, "Rebels shoot down Syrian helicopter over Idlib", shootdown())
    stage.configure(stage.config, default_rules())
    clock.advance(timedelta(days=1))
    alerts = feed(stage, db, "Drone shot down above Saraqeb, Idlib", shootdown())
    assert [a.kind for a in alerts] == ["match"], "the first shootdown was seen before the rules: no signal then"
    clock.advance(timedelta(days=1))
    alerts = feed(stage, db, "Jet downed over Idlib countryside", shootdown())
    assert [(a.kind, a.extra.get("level")) for a in alerts] == [("match", None), ("escalation", "high")]


ORDERED_AND_BY_ACTOR = """
[[escalation]]
id = "threat-then-strike"
title = "A deadline followed by strikes"
group_by = "actor"
window = "7d"
level = "high"
combination = { tags = ["deadline", "strike"], ordered = true }

[[escalation]]
id = "busy-rule"
title = "One rule firing for three stories"
group_by = "rule"
window = "1d"
level = "elevated"
count = { rule = "airstrike", at_least = 3 }
"""


def test_ordered_combinations_and_rule_counts(tmp_path: Path, open_store: StoreOpener) -> None:
    rules_file = tmp_path / "escalation.toml"
    rules_file.write_text(ORDERED_AND_BY_ACTOR, encoding="utf-8")
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, load_escalation_rules([rules_file]), realert_interval=timedelta(0))
    strike = match("airstrike", "strike", actors=("Russia",))
    first = feed(stage, db, "Russian jets bomb Maarat al-Numan market", strike)
    clock.advance(timedelta(hours=1))
    ultimatum = feed(stage, db, "Moscow gives rebels 48 hours to leave Idlib",
                     match("ultimatum", "deadline", actors=("Russia",), deadline=T0 + timedelta(days=2)))
    assert [a.kind for a in first + ultimatum] == ["match", "match"], "a strike before the deadline is not the order"
    clock.advance(timedelta(hours=1))
    after = feed(stage, db, "Russian warplanes strike Ariha hospital", strike)
    assert [(a.kind, a.situation, a.rule) for a in after] == [
        ("match", None, "airstrike"), ("escalation", "actor:Russia", "threat-then-strike")]
    clock.advance(timedelta(hours=1))
    third = feed(stage, db, "Bombs fall on Jisr al-Shughur bakery", strike)
    assert [(a.kind, a.situation) for a in third] == [("match", None), ("escalation", "rule:airstrike")]


def test_a_milder_rule_of_the_same_kind_adds_no_second_alert_for_one_report(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, None)
    mild = match("casualties", "casualties", places=("Idlib",), severity=Severity.MEDIUM)
    severe = match("casualties-mass", "casualties", places=("Idlib",), severity=Severity.HIGH)
    strike = match("strike-air", "strike", places=("Idlib",), severity=Severity.MEDIUM)
    alerts = feed(stage, db, "Airstrikes kill 13 in Idlib", mild, severe, strike)
    assert sorted(alert.rule or "" for alert in alerts) == ["casualties-mass", "strike-air"]

    # A later report of the same story does not bring the milder rule back either: it fired (silently) already.
    clock.advance(timedelta(hours=1))
    later = feed(stage, db, "Airstrikes kill 13 in Idlib, monitors say", mild, outlet="outlet-b")
    assert [alert.rule for alert in later if alert.kind == "match"] == []

    # Alone, the milder rule alerts as before.
    clock.advance(timedelta(days=3))
    alone = feed(stage, db, "Two killed in shelling of Kafr Nabl", mild, outlet="outlet-c")
    assert [alert.rule for alert in alone if alert.kind == "match"] == ["casualties"]


def test_one_report_that_lifts_a_situation_several_levels_says_only_where_it_ended(open_store: StoreOpener) -> None:
    db = open_store()
    stage = escalation(db, SimulatedClock(T0), default_rules())
    tags = ("buildup", "deadline", "casualties", "displacement", "territorial", "strike", "shootdown")
    matches = [match(f"{tag}-x", tag, places=("Idlib",)) for tag in tags]
    alerts = feed(stage, db, "Everything at once in Idlib", *matches)
    raised = [alert for alert in alerts if alert.kind == "escalation" and alert.situation == "theatre:Syria"]
    assert len(raised) == 1
    assert raised[0].extra["previous_level"] == "none"
    assert raised[0].extra["level"] in ("high", "critical")
    # Every escalation rule the report satisfied explains the one alert.
    assert {finding["rule"] for finding in raised[0].extra["findings"]} >= {"buildup-and-deadline", "theatre-ladder"}


def test_a_match_alert_quotes_the_sentences_that_hold_its_evidence() -> None:
    summary = ("Talks resumed in Geneva on Monday. Turkey sent more than 2100 military vehicles to the border. "
               "Markets were calm.")
    start = summary.index("2100")
    evidence = Evidence(field="summary", start=start, end=start + len("2100 military vehicles"),
                        text="2100 military vehicles")
    found = Match(rule="buildup-forces", title="Buildup", severity=Severity.HIGH, tags=("buildup",),
                  evidence=(evidence,),
                  quantities=(Quantity("vehicles", 2100, "more than", "more than 2100 military vehicles"),))
    text = match_summary(item("Buildup on the border", summary=summary), found)
    assert text.splitlines() == ["Turkey sent more than 2100 military vehicles to the border.",
                                 "vehicles: more than 2100 military vehicles"]
