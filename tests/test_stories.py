"""Stories: one event reported by several outlets in different words is one story; a rule fires once per story."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import StoreOpener
from tests.scenario.helpers import T0, escalation, item, match
from tocsin.clock import SimulatedClock
from tocsin.escalate.fingerprint import Fingerprint, minhash, pack, similarity, words
from tocsin.matching.model import Match, Quantity
from tocsin.severity import Severity
from tocsin.store import Database, open_database
from tocsin.store.db import migrations

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


def test_four_outlets_in_different_words_make_one_story_and_one_alert(open_store: StoreOpener) -> None:
    db = open_store()
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


def test_wire_copies_and_repeats_from_one_outlet_add_no_independent_source(open_store: StoreOpener) -> None:
    db = open_store()
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


def test_different_events_stay_apart_and_a_rule_fires_for_each(open_store: StoreOpener) -> None:
    db = open_store()
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


def test_shared_numbers_and_places_join_reports_with_little_common_wording(open_store: StoreOpener) -> None:
    db = open_store()
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


def test_a_report_after_the_window_starts_a_new_story(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, story_window=timedelta(hours=48))
    with db.transaction():
        first = stage.on_item(SHOOTDOWN[0], [shootdown_match()])
    clock.advance(timedelta(hours=49))
    with db.transaction():
        late = stage.on_item(SHOOTDOWN[1], [shootdown_match()])
    assert len(first) == len(late) == 1
    assert first[0].story_id != late[0].story_id


def test_stories_survive_a_restart(open_store: StoreOpener) -> None:
    clock = SimulatedClock(T0)
    db = open_store()
    with db.transaction():
        assert len(escalation(db, clock).on_item(SHOOTDOWN[0], [shootdown_match()])) == 1
    db.close()
    db = open_store()
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


def test_reports_of_an_untagged_rule_still_form_one_story(open_store: StoreOpener) -> None:
    db = open_store()
    stage = escalation(db, SimulatedClock(T0))
    untagged = Match(rule="custom-watch", title="Custom", severity=Severity.LOW, tags=(), places=("Idlib",))
    with db.transaction():
        alerts = [alert for report in SHOOTDOWN for alert in stage.on_item(report, [untagged])]
    assert len(alerts) == 1


def story_count(db: Database) -> tuple[int, int, int]:
    """(stories in the state file, stories in the index, postings in it): the index is SQLite's TEMP tables, or
    PostgreSQL's shared story_postings table."""
    indexed, postings = (
        ("SELECT count(DISTINCT story) FROM story_postings", "SELECT count(*) FROM story_postings")
        if db.dialect == "postgresql" else
        ("SELECT count(*) FROM temp.story_candidates", "SELECT count(*) FROM temp.story_postings")
    )
    return (
        db.connection.execute("SELECT count(*) FROM stories").fetchone()[0],
        db.connection.execute(indexed).fetchone()[0],
        db.connection.execute(postings).fetchone()[0],
    )


def test_a_rolled_back_story_is_gone_from_the_index_too(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock)
    with db.transaction():
        kept = stage.on_item(SHOOTDOWN[0], [shootdown_match()])
    with pytest.raises(RuntimeError), db.transaction():
        clock.advance(timedelta(minutes=5))
        strike = item("Airstrikes hit market in Maarat al-Numan", "Russian warplanes bombed a market.", feed="x")
        assert len(stage.on_item(strike, [match("airstrike", "strike", places=("Maarat al-Numan",))])) == 1
        raise RuntimeError("a later stage failed")
    assert story_count(db) == (1, 1, 9)
    with db.transaction():
        # The same report again (the poller retries the feed): a new story and a new alert, as the first time.
        again = stage.on_item(strike, [match("airstrike", "strike", places=("Maarat al-Numan",))])
        joined = stage.on_item(SHOOTDOWN[1], [shootdown_match()])
    assert [alert.kind for alert in again] == ["match"]
    assert joined == []
    assert again[0].story_id != kept[0].story_id
    assert story_count(db)[:2] == (2, 2)


def test_an_index_first_built_in_a_rolled_back_transaction_is_built_again(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    clock = SimulatedClock(T0)
    db = open_database(path)
    with db.transaction():
        first = escalation(db, clock).on_item(SHOOTDOWN[0], [shootdown_match()])
    db.close()
    db = open_database(path)
    stage = escalation(db, clock)
    with pytest.raises(RuntimeError), db.transaction():
        stage.on_item(SHOOTDOWN[1], [shootdown_match()])
        raise RuntimeError("a later stage failed")
    with db.transaction():
        assert stage.on_item(SHOOTDOWN[2], [shootdown_match()]) == []
    story_id = db.connection.execute("SELECT id FROM stories").fetchone()[0]
    assert story_id == first[0].story_id
    assert story_count(db) == (1, 1, 9)


def test_pruning_forgets_old_stories_in_the_file_and_in_the_index(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock, story_window=timedelta(hours=48))
    with db.transaction():
        stage.on_item(SHOOTDOWN[0], [shootdown_match()])
    clock.advance(timedelta(hours=47))
    with db.transaction():
        stage.on_item(item("Storm floods coastal towns", "Rivers burst their banks.", feed="z"),
                      [match("flood", "disaster", places=("Porto",))])
    clock.advance(timedelta(hours=2))
    with db.transaction():
        stage.due()
    assert story_count(db) == (1, 1, 9)
    assert db.connection.execute("SELECT title FROM stories").fetchone()[0] == "Storm floods coastal towns"


def test_stories_of_a_version_3_database_stay_joinable_after_the_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as connection:
        for _, _, sql in migrations()[:3]:
            connection.executescript(sql)
        connection.execute("PRAGMA user_version=3")
        fingerprint = Fingerprint.of(SHOOTDOWN[0], [shootdown_match()])
        stamp = int(T0.timestamp())
        connection.execute(
            "INSERT INTO stories (id, first_at, last_at, title, words, entities, numbers, tags, report_feeds, "
            "report_signatures, rules) VALUES ('sty_old', ?, ?, ?, ?, ?, '', ?, 'outlet-a', ?, 'shootdown-aircraft')",
            (stamp, stamp, SHOOTDOWN[0].title, "\n".join(sorted(fingerprint.words)),
             "\n".join(sorted(fingerprint.entities)), "\n".join(fingerprint.tags), pack(fingerprint.signature)),
        )
        connection.executemany("INSERT INTO story_keys (key, first_at, story_id) VALUES (?, ?, 'sty_old')",
                               [(key, stamp) for key in fingerprint.index_keys()])
    db = open_database(path)
    clock = SimulatedClock(T0 + timedelta(hours=1))
    with db.transaction():
        alerts = escalation(db, clock, story_updates=(2,)).on_item(SHOOTDOWN[1], [shootdown_match()])
    assert [(alert.kind, alert.story_id) for alert in alerts] == [("story_update", "sty_old")]


def test_two_escalations_on_one_connection_share_the_index(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    first, second = escalation(db, clock), escalation(db, clock)
    with db.transaction():
        alerts = first.on_item(SHOOTDOWN[0], [shootdown_match()])
        alerts += second.on_item(SHOOTDOWN[1], [shootdown_match()])
    assert [alert.kind for alert in alerts] == ["match"]
    assert story_count(db) == (1, 1, 9)


def test_a_report_with_more_index_keys_than_sqlite_allows_union_terms_finds_its_story(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock)
    towns = tuple(f"Town{number}" for number in range(70))
    tags = ("quake", "disaster", "tsunami", "infrastructure", "casualties", "aid", "europe")
    # Filed under one place and one tag only, so the roundup below can find it through that one key (its wording
    # is a small part of the roundup's, so they share no MinHash band).
    local = item("Earthquake shakes Town69", "Houses collapsed.", feed="outlet-a")
    roundup = item("Earthquake shakes Town69 and the region",
                   "Houses collapsed. Shaking reported in " + ", ".join(towns), feed="outlet-b")
    roundup_matches = [match("quake", *tags, places=towns)]
    roundup_keys = Fingerprint.of(roundup, roundup_matches).index_keys()
    assert len(roundup_keys) > 500
    local_keys = Fingerprint.of(local, [match("quake", "tsunami", places=("Town69",))]).index_keys()
    assert [key for key in local_keys if key in roundup_keys] == local_keys[-1:], "only the place is shared"
    with db.transaction():
        first = stage.on_item(local, [match("quake", "tsunami", places=("Town69",))])
    clock.advance(timedelta(minutes=5))
    with db.transaction():
        assert stage.on_item(roundup, roundup_matches) == []
    assert [alert.kind for alert in first] == ["match"]
    assert tuple(db.connection.execute("SELECT count(*), max(reports) FROM stories").fetchone()) == (1, 2)


def stories_and_reports(db: Database) -> list[tuple[str, int]]:
    return [tuple(row) for row in db.connection.execute("SELECT title, reports FROM stories ORDER BY rowid")]


def two_databases(path: Path) -> tuple[Database, Database]:
    """The daemon's and a second process's (`tocsin run --once`) connections to one state file."""
    return open_database(path), open_database(path)


def test_a_story_started_through_another_connection_is_joined(tmp_path: Path) -> None:
    daemon_db, other_db = two_databases(tmp_path / "state.db")
    clock = SimulatedClock(T0)
    daemon, other = escalation(daemon_db, clock), escalation(other_db, clock)
    with daemon_db.transaction():  # the daemon's index is filled (with no story yet)
        daemon.on_item(item("Storm floods coastal towns", "Rivers burst their banks.", feed="z"),
                       [match("flood", "disaster", places=("Porto",))])
    clock.advance(timedelta(minutes=10))
    with other_db.transaction():
        started = other.on_item(SHOOTDOWN[0], [shootdown_match()])
    clock.advance(timedelta(minutes=10))
    with daemon_db.transaction():
        assert daemon.on_item(SHOOTDOWN[1], [shootdown_match()]) == []
    assert [alert.kind for alert in started] == ["match"]
    reports = daemon_db.connection.execute("SELECT reports FROM stories WHERE id = ?", (started[0].story_id,))
    assert reports.fetchone()[0] == 2
    assert story_count(daemon_db) == (2, 2, 18)


def test_a_story_pruned_through_another_connection_is_forgotten_here_too(tmp_path: Path) -> None:
    daemon_db, other_db = two_databases(tmp_path / "state.db")
    clock = SimulatedClock(T0)
    daemon, other = escalation(daemon_db, clock), escalation(other_db, clock)
    with daemon_db.transaction():
        daemon.on_item(SHOOTDOWN[0], [shootdown_match()])
    with other_db.transaction():  # a run with a shorter story window, or a later clock
        assert other.stories.prune(T0 + timedelta(days=1)) == 1
    clock.advance(timedelta(minutes=10))
    with daemon_db.transaction():
        daemon.on_item(SHOOTDOWN[1], [shootdown_match()])
    assert stories_and_reports(daemon_db) == [(SHOOTDOWN[1].title, 1)], "a new story"
    assert story_count(daemon_db) == (1, 1, 9)


def test_a_story_missing_from_the_file_but_still_in_the_index_is_not_found(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock)
    with db.transaction():
        stage.on_item(SHOOTDOWN[0], [shootdown_match()])
        # Removed behind the index's back: this connection's own writes leave data_version as it is.
        db.connection.execute("DELETE FROM stories")
    clock.advance(timedelta(minutes=10))
    with db.transaction():
        stage.on_item(SHOOTDOWN[1], [shootdown_match()])
    assert stories_and_reports(db) == [(SHOOTDOWN[1].title, 1)], "a new story"
    with db.transaction():
        stage.on_item(SHOOTDOWN[3], [shootdown_match()])
    assert stories_and_reports(db) == [(SHOOTDOWN[1].title, 2)]
    assert story_count(db) == (1, 1, 9), "the index was filled again from the file"


def test_reads_through_another_connection_keep_the_index(tmp_path: Path) -> None:
    daemon_db, reader_db = two_databases(tmp_path / "state.db")
    clock = SimulatedClock(T0)
    stage = escalation(daemon_db, clock)
    with daemon_db.transaction():
        stage.on_item(SHOOTDOWN[0], [shootdown_match()])
        # A marker only this index holds: filling it again from the file would drop it.
        daemon_db.connection.execute("INSERT INTO temp.story_postings VALUES (1, 999999)")
    reader_db.connection.execute("PRAGMA query_only=ON")
    assert reader_db.connection.execute("SELECT count(*) FROM stories").fetchone()[0] == 1
    clock.advance(timedelta(minutes=10))
    with daemon_db.transaction():
        assert stage.on_item(SHOOTDOWN[1], [shootdown_match()]) == []
    assert story_count(daemon_db) == (1, 1, 10)
