"""Stories: one event reported by several outlets in different words is one story; a rule fires once per story."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from daemon.clock import SimulatedClock
from daemon.escalate.fingerprint import Fingerprint, minhash, similarity, words
from daemon.matching.model import Match, Quantity
from daemon.severity import Severity
from daemon.store import open_database
from tests.scenario.helpers import T0, escalation, item, match

SHOOTDOWN = [
    item("Turkish-backed rebels shoot down Syrian army helicopter over Idlib",
         "Rebel fighters backed by Turkey downed a Syrian government helicopter near Nairab in Idlib province on "
         "Tuesday, killing its crew, a war monitor said.", feed="outlet-a"),
    item("Syrian military helicopter downed in Idlib, second in a week",
         "A helicopter of the Syrian army was shot down near Nairab in northwestern Idlib on Tuesday; Turkey-backed "
         "insurgents claimed the attack.", feed="outlet-b"),
    item("Rebels claim downing of Syrian helicopter near Nairab, Idlib",
         "Opposition fighters supported by Ankara said they hit a Syrian helicopter over Idlib province; the crew "
         "was killed.", feed="outlet-c"),
    item("Helicopter shot down over Idlib as fighting intensifies",
         "Syrian regime helicopter brought down by Turkish-backed rebels near Nairab, Idlib, according to the "
         "Syrian Observatory for Human Rights.", feed="outlet-d"),
]


def shootdown_match() -> Match:
    return match("shootdown-aircraft", "shootdown", places=("Idlib",), actors=("Syria", "Turkey"))


def test_four_outlets_in_different_words_make_one_story_and_one_alert(tmp_path: Path) -> None:
    db = open_database(tmp_path / "state.db")
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, story_updates=(3,))
    alerts = []
    for report in SHOOTDOWN:
        clock.advance(timedelta(minutes=40))
        with db.transaction():
            alerts += stage.on_item(report, [shootdown_match()])
    assert [alert.kind for alert in alerts] == ["match", "story_update"]
    first, update = alerts
    assert first.items[0].feed == "outlet-a"
    assert update.story_id == first.story_id
    assert update.extra == {"sources": 3}
    assert update.title.startswith("Reported by 3 sources: Turkish-backed rebels")
    row = db.connection.execute("SELECT sources, reports FROM stories").fetchone()
    assert tuple(row) == (4, 4)


def test_wire_copies_and_repeats_from_one_outlet_add_no_independent_source(tmp_path: Path) -> None:
    db = open_database(tmp_path / "state.db")
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, story_updates=(2,))
    original = SHOOTDOWN[0]
    wire_copy = item(original.title, original.summary, feed="outlet-e", link="https://e.example/wire/123")
    update_same_outlet = item(original.title + " - update", original.summary, feed="outlet-a",
                              link="https://outlet-a.example/update")
    alerts = []
    for report in (original, wire_copy, update_same_outlet):
        clock.advance(timedelta(minutes=10))
        with db.transaction():
            alerts += stage.on_item(report, [shootdown_match()])
    assert [alert.kind for alert in alerts] == ["match"]
    assert tuple(db.connection.execute("SELECT sources, reports FROM stories").fetchone()) == (1, 3)
    with db.transaction():
        independent = stage.on_item(SHOOTDOWN[1], [shootdown_match()])
    assert [alert.kind for alert in independent] == ["story_update"]


def test_different_events_stay_apart_and_a_rule_fires_for_each(tmp_path: Path) -> None:
    db = open_database(tmp_path / "state.db")
    clock = SimulatedClock(T0)
    stage = escalation(db, clock)
    strike = item("Airstrikes hit market in Maarat al-Numan", "Russian warplanes bombed a market in Maarat "
                  "al-Numan, killing nine civilians, rescuers said.", feed="outlet-b")
    with db.transaction():
        first = stage.on_item(SHOOTDOWN[0], [shootdown_match()])
        second = stage.on_item(strike, [match("airstrike", "strike", places=("Maarat al-Numan",),
                                              actors=("Russia",))])
    assert [a.rule for a in first + second] == ["shootdown-aircraft", "airstrike"]
    assert first[0].story_id != second[0].story_id


def test_shared_numbers_and_places_join_reports_with_little_common_wording(tmp_path: Path) -> None:
    db = open_database(tmp_path / "state.db")
    clock = SimulatedClock(T0)
    stage = escalation(db, clock)
    killed = Quantity("killed", 13, None, "13 Turkish troops")
    one = item("Ankara vows response after 13 soldiers die", "Erdogan blamed Damascus for the deaths.", feed="x")
    two = item("Syrian shelling kills 13 Turkish troops in Idlib", "Attack on observation post.", feed="y")
    with db.transaction():
        alerts = stage.on_item(one, [match("casualties-troops", "casualties", places=("Idlib",),
                                           quantities=(killed,))])
        alerts += stage.on_item(two, [match("casualties-troops", "casualties", places=("Idlib",),
                                            quantities=(killed,))])
    assert len(alerts) == 1


def test_a_report_after_the_window_starts_a_new_story(tmp_path: Path) -> None:
    db = open_database(tmp_path / "state.db")
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, story_window=timedelta(hours=48))
    with db.transaction():
        first = stage.on_item(SHOOTDOWN[0], [shootdown_match()])
    clock.advance(timedelta(hours=49))
    with db.transaction():
        late = stage.on_item(SHOOTDOWN[1], [shootdown_match()])
    assert len(first) == len(late) == 1
    assert first[0].story_id != late[0].story_id


def test_stories_survive_a_restart(tmp_path: Path) -> None:
    clock = SimulatedClock(T0)
    db = open_database(tmp_path / "state.db")
    with db.transaction():
        assert len(escalation(db, clock).on_item(SHOOTDOWN[0], [shootdown_match()])) == 1
    db.close()
    db = open_database(tmp_path / "state.db")
    clock.advance(timedelta(hours=2))
    with db.transaction():
        assert escalation(db, clock).on_item(SHOOTDOWN[2], [shootdown_match()]) == []


def test_word_sets_ignore_case_accents_and_plurals() -> None:
    assert words("Troops enter IDLÉB") == words("troop enter Idleb")
    same = minhash(words("Turkish-backed rebels shoot down Syrian helicopter over Idlib"))
    assert similarity(same, same) == 1.0
    other = minhash(words("Storm floods coastal towns in Portugal"))
    assert similarity(same, other) < 0.2


def test_index_keys_include_bands_and_entities() -> None:
    fingerprint = Fingerprint.of(SHOOTDOWN[0], [shootdown_match()])
    assert len(fingerprint.index_keys()) == 8 + 1, "8 bands and the place, for its one tag"
    assert fingerprint.entities == {"idlib", "syria", "turkey"}


def test_reports_of_an_untagged_rule_still_form_one_story(tmp_path: Path) -> None:
    db = open_database(tmp_path / "state.db")
    stage = escalation(db, SimulatedClock(T0))
    untagged = Match(rule="custom-watch", title="Custom", severity=Severity.LOW, tags=(), places=("Idlib",))
    with db.transaction():
        alerts = [alert for report in SHOOTDOWN for alert in stage.on_item(report, [untagged])]
    assert len(alerts) == 1
