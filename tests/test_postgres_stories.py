"""Two instances on one PostgreSQL database ingest at the same moment: two reports of one event make one story and
one alert (story placement is serialized across instances, the story index is the shared database's), and one item
is new to only one of them."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from tests.scenario.helpers import T0, escalation
from tests.test_stories import SHOOTDOWN, shootdown_match
from tocsin.alerts import Alert
from tocsin.clock import SimulatedClock
from tocsin.items import Item
from tocsin.store.seen import SeenItems

pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'tocsin[postgres]')")

from tocsin.store.postgres import PostgresDatabase, open_postgres

ROUNDS = 5


def test_two_instances_ingesting_two_reports_of_one_event_at_once_make_one_story(postgres_url: str) -> None:
    instances = [open_postgres(postgres_url) for _ in range(2)]
    clock = SimulatedClock(T0)
    stages = [escalation(db, clock) for db in instances]
    alerts: list[list[Alert]] = [[], []]
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def ingest(number: int, report_index: int) -> None:
        db, stage = instances[number], stages[number]
        try:
            start.wait(timeout=30)
            with db.transaction():
                alerts[number].extend(stage.on_item(SHOOTDOWN[report_index], [shootdown_match()]))
        except BaseException as exc:
            errors.append(exc)

    try:
        for round_number in range(ROUNDS):
            # Each round a new event: the same reports a week later, past the story window.
            clock.advance_to(T0 + timedelta(days=7 * round_number))
            for db in instances:
                db.connection.execute("DELETE FROM throttle")
            threads = [threading.Thread(target=ingest, args=(n, n)) for n in range(2)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=60)
            assert errors == []
        reader = instances[0].connection
        stories = reader.execute("SELECT reports, sources FROM stories ORDER BY first_at").fetchall()
    finally:
        for db in instances:
            db.close()
    # Per round: one story holding both reports (two sources), and one alert between the two instances.
    assert [tuple(row) for row in stories] == [(2, 2)] * ROUNDS
    decided = [alert for per_instance in alerts for alert in per_instance]
    assert len(decided) == ROUNDS and len({alert.story_id for alert in decided}) == ROUNDS


def test_an_item_two_instances_take_in_at_once_is_new_to_only_one(postgres_url: str) -> None:
    first, second = open_postgres(postgres_url), open_postgres(postgres_url)
    report = SHOOTDOWN[0]
    answers: list[list[Item]] = []
    try:
        with first.transaction():
            assert SeenItems(first).filter_new([report], T0) == [report]
            # The second instance looks while the first has not committed: its insert waits for the first's
            # transaction, then finds the item taken.
            other = threading.Thread(target=lambda: answers.append(second_ingest(second, report)))
            other.start()
            other.join(timeout=1)
            assert other.is_alive(), "the second instance waits for the first's commit"
        other.join(timeout=30)
    finally:
        first.close()
        second.close()
    assert answers == [[]]


def second_ingest(db: PostgresDatabase, report: Item) -> list[Item]:
    with db.transaction():
        return SeenItems(db).filter_new([report], T0)
