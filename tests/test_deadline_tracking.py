"""Tracked deadlines: tracked once, reminded 24 h before and at expiry, across restarts, never in a burst."""

from __future__ import annotations

from datetime import timedelta

from tests.conftest import StoreOpener
from tests.scenario.helpers import T0, escalation, item, match
from tocsin.alerts import Alert
from tocsin.clock import SimulatedClock
from tocsin.escalate import Escalation
from tocsin.store import Database

EXPIRES = T0 + timedelta(days=5)


def ultimatum(stage: Escalation, db: Database, outlet: str, title: str) -> list[Alert]:
    with db.transaction():
        return stage.on_item(item(title, "Turkey issued an ultimatum to Damascus.", feed=outlet),
                             [match("ultimatum", "deadline", places=("Idlib",), deadline=EXPIRES)])


def tick(stage: Escalation, db: Database) -> list[Alert]:
    with db.transaction():
        return stage.due()


def test_reminders_24h_before_and_at_expiry_link_every_report(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock)
    ultimatum(stage, db, "outlet-a", "Turkey demands Syrian withdrawal from Idlib")
    clock.advance(timedelta(days=2))
    ultimatum(stage, db, "outlet-b", "Erdogan repeats end-of-month ultimatum to Assad")
    assert db.connection.execute("SELECT count(*) FROM deadlines").fetchone()[0] == 1
    assert stage.next_due() == EXPIRES - timedelta(hours=24)
    clock.advance_to(EXPIRES - timedelta(hours=25))
    assert tick(stage, db) == []
    clock.advance_to(EXPIRES - timedelta(hours=24))
    before = tick(stage, db)
    assert [a.title for a in before] == ["Ultimatum expires in 24 h: Turkey demands Syrian withdrawal from Idlib"]
    assert before[0].kind == "deadline_reminder"
    assert [i.feed for i in before[0].items] == ["outlet-a", "outlet-b"]
    assert before[0].deadline is not None and before[0].deadline.at == EXPIRES
    assert stage.next_due() == EXPIRES
    clock.advance_to(EXPIRES)
    expired = tick(stage, db)
    assert [a.title for a in expired] == ["Ultimatum expired: Turkey demands Syrian withdrawal from Idlib"]
    assert expired[0].extra["expired"] is True
    assert expired[0].id != before[0].id
    clock.advance(timedelta(days=1))
    assert tick(stage, db) == []
    assert stage.next_due() is None


def test_reminders_survive_a_restart(open_store: StoreOpener) -> None:
    clock = SimulatedClock(T0)
    db = open_store()
    ultimatum(escalation(db, clock), db, "outlet-a", "Turkey demands Syrian withdrawal from Idlib")
    db.close()
    db = open_store()
    clock.advance_to(EXPIRES - timedelta(hours=24))
    assert len(tick(escalation(db, clock), db)) == 1


def test_a_deadline_that_passed_while_down_gives_one_expired_alert(open_store: StoreOpener) -> None:
    clock = SimulatedClock(T0)
    db = open_store()
    stage = escalation(db, clock)
    ultimatum(stage, db, "outlet-a", "Turkey demands Syrian withdrawal from Idlib")
    clock.advance_to(EXPIRES + timedelta(hours=7))
    alerts = tick(stage, db) + tick(stage, db)
    assert [a.title for a in alerts] == ["Ultimatum expired: Turkey demands Syrian withdrawal from Idlib"]


def test_a_deadline_learned_late_skips_reminders_already_past(open_store: StoreOpener) -> None:
    clock = SimulatedClock(EXPIRES - timedelta(hours=10))
    db = open_store()
    stage = escalation(db, clock)
    ultimatum(stage, db, "outlet-a", "Turkey demands Syrian withdrawal from Idlib")
    assert tick(stage, db) == []
    clock.advance_to(EXPIRES)
    assert [a.extra["expired"] for a in tick(stage, db)] == [True]


def test_a_deadline_already_past_is_not_tracked(open_store: StoreOpener) -> None:
    clock = SimulatedClock(EXPIRES + timedelta(days=1))
    db = open_store()
    stage = escalation(db, clock)
    ultimatum(stage, db, "outlet-a", "Turkey demands Syrian withdrawal from Idlib")
    assert stage.next_due() is None


def test_different_places_with_the_same_time_are_different_deadlines(open_store: StoreOpener) -> None:
    db = open_store()
    clock = SimulatedClock(T0)
    stage = escalation(db, clock)
    ultimatum(stage, db, "outlet-a", "Turkey demands Syrian withdrawal from Idlib")
    with db.transaction():
        stage.on_item(item("Militia told to leave Tripoli by the end of the month", feed="outlet-c"),
                      [match("ultimatum", "deadline", places=("Tripoli",), deadline=EXPIRES)])
    assert db.connection.execute("SELECT count(*) FROM deadlines").fetchone()[0] == 2
