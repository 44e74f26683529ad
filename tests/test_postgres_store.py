"""The PostgreSQL dialect against a real server: the versioned migrations, and the leases that let several
instances share one database (feed polls, deliveries, the leader with its fencing epoch, per-key serialization)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from tocsin.errors import StoreError
from tocsin.store.db import migrations
from tocsin.store.leases import (
    FencedOut,
    acquire_leadership,
    claim_deliveries,
    claim_due_feeds,
    fence,
    finish_delivery,
    finish_feed,
    serialize,
)

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'tocsin[postgres]')")

from tocsin.store.postgres import connect, migrate, schema_version  # noqa: E402

Connection = psycopg.Connection[tuple[object, ...]]


@pytest.fixture
def db(postgres_url: str) -> Iterator[Connection]:
    connection = connect(postgres_url)
    migrate(connection)
    yield connection
    connection.close()


def test_both_dialects_ship_the_same_migration_versions() -> None:
    sqlite = [(version, name) for version, name, _ in migrations("sqlite")]
    postgres = [(version, name) for version, name, _ in migrations("postgresql")]
    assert sqlite == postgres


def test_migrate_to_a_version_then_to_the_end_and_never_backwards(postgres_url: str) -> None:
    connection = connect(postgres_url)
    assert migrate(connection, to=3) == 3
    tables = {row[0] for row in connection.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"feed_state", "deliveries", "stories", "story_keys"} <= tables
    assert migrate(connection) == len(migrations("postgresql"))
    with pytest.raises(StoreError, match="do not run backwards"):
        migrate(connection, to=2)
    with pytest.raises(StoreError, match="no migration 99"):
        migrate(connection, to=99)
    connection.close()


def test_instances_starting_together_migrate_once(postgres_url: str) -> None:
    errors: list[BaseException] = []

    def start() -> None:
        try:
            with connect(postgres_url) as connection:
                migrate(connection)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with connect(postgres_url) as connection:
        versions = [row[0] for row in connection.execute("SELECT version FROM schema_version ORDER BY version")]
    assert versions == list(range(1, len(migrations("postgresql")) + 1))


def test_the_time_encoding_migration_turns_iso_text_into_unix_seconds(postgres_url: str) -> None:
    connection = connect(postgres_url)
    migrate(connection, to=6)
    connection.execute(
        "INSERT INTO feed_state (name, url, last_success_at, next_poll_at) VALUES"
        " ('a', 'http://127.0.0.1/a', '2026-03-04T05:06:07.250000+00:00', '2026-03-04T05:11:07+00:00')"
    )
    connection.execute("INSERT INTO seen_items (key, seen_at) VALUES ('\\x01', 1772600767)")
    migrate(connection)
    success, next_poll = connection.execute("SELECT last_success_at, next_poll_at FROM feed_state").fetchone()
    assert datetime.fromtimestamp(success, UTC) == datetime(2026, 3, 4, 5, 6, 7, 250000, tzinfo=UTC)
    assert datetime.fromtimestamp(next_poll, UTC) == datetime(2026, 3, 4, 5, 11, 7, tzinfo=UTC)
    kinds = connection.execute(
        "SELECT DISTINCT data_type FROM information_schema.columns WHERE table_schema = 'public'"
        " AND column_name IN ('seen_at', 'last_success_at', 'next_attempt_at', 'first_at', 'at')"
    ).fetchall()
    assert kinds == [("double precision",)]
    assert schema_version(connection) == len(migrations("postgresql"))
    connection.close()


def test_a_password_never_reaches_a_message() -> None:
    with pytest.raises(StoreError) as raised:
        connect("postgresql://tocsin:s3cret@127.0.0.1:1/tocsin?connect_timeout=2")
    assert "s3cret" not in str(raised.value)


def _add_feeds(connection: Connection, count: int) -> None:
    with connection.cursor() as cursor:
        cursor.executemany("INSERT INTO feed_state (name, url) VALUES (%s, %s)",
                           [(f"feed-{n:04d}", f"http://127.0.0.1/{n}") for n in range(count)])


def test_three_instances_claim_every_due_feed_exactly_once(db: Connection, postgres_url: str) -> None:
    _add_feeds(db, 1000)
    claimed: dict[str, list[str]] = {}

    def instance(holder: str) -> None:
        with connect(postgres_url) as connection:
            mine = claimed.setdefault(holder, [])
            while batch := claim_due_feeds(connection, holder, limit=25, lease_seconds=60):
                mine.extend(batch)
                for name in batch:
                    assert finish_feed(connection, holder, name, next_poll_in=300)

    threads = [threading.Thread(target=instance, args=(f"instance-{n}",)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    counts = Counter(name for names in claimed.values() for name in names)
    assert len(counts) == 1000 and set(counts.values()) == {1}
    assert all(len(names) > 0 for names in claimed.values()), "every instance took a share"
    # Nothing is due again until its next poll.
    assert claim_due_feeds(db, "instance-0", limit=10, lease_seconds=60) == []


def test_a_dead_instances_feeds_are_taken_over_after_its_lease_expires(db: Connection) -> None:
    _add_feeds(db, 5)
    assert len(claim_due_feeds(db, "dead", limit=5, lease_seconds=0.3)) == 5
    assert claim_due_feeds(db, "alive", limit=5, lease_seconds=60) == []
    time.sleep(0.4)
    taken = claim_due_feeds(db, "alive", limit=5, lease_seconds=60)
    assert len(taken) == 5
    # The dead instance, had it only been slow, learns that its poll was taken over.
    assert finish_feed(db, "dead", taken[0], next_poll_in=300) is False
    assert finish_feed(db, "alive", taken[0], next_poll_in=300) is True


def test_deliveries_are_leased_once_and_taken_over_after_expiry(db: Connection, postgres_url: str) -> None:
    with db.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO deliveries (receiver, alert_ids, state, created_at, next_attempt_at)"
            " VALUES ('hook', %s, 'pending', extract(epoch FROM now()), extract(epoch FROM now()))",
            [(f'["alert-{n}"]',) for n in range(300)],
        )
    first = claim_deliveries(db, "a", limit=100, lease_seconds=0.3)
    with connect(postgres_url) as other:
        second = claim_deliveries(other, "b", limit=500, lease_seconds=60)
        assert len(first) == 100 and len(second) == 200 and not set(first) & set(second)
        time.sleep(0.4)
        taken_over = claim_deliveries(other, "b", limit=500, lease_seconds=60)
        assert taken_over == first
        assert all(finish_delivery(other, "b", delivery) for delivery in second + taken_over)
    assert finish_delivery(db, "a", first[0]) is False
    states = db.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()
    assert states == [("delivered", 300)]


def test_a_paused_leader_is_fenced_out_after_a_takeover(db: Connection, postgres_url: str) -> None:
    db.execute("CREATE TABLE reminders_sent (epoch BIGINT)")
    old = acquire_leadership(db, "a", lease_seconds=0.3)
    assert old == 1
    assert acquire_leadership(db, "a", lease_seconds=0.3) == 1, "a renewal keeps the epoch"
    with connect(postgres_url) as other:
        assert acquire_leadership(other, "b", lease_seconds=60) is None
        time.sleep(0.4)  # "a" is paused past its lease
        new = acquire_leadership(other, "b", lease_seconds=60)
        assert new == 2
        with other.transaction():
            fence(other, "b", new)
            other.execute("INSERT INTO reminders_sent VALUES (%s)", (new,))
    # "a" resumes and tries its singleton job's write: refused, and nothing of it commits.
    with pytest.raises(FencedOut), db.transaction():
        db.execute("INSERT INTO reminders_sent VALUES (%s)", (old,))
        fence(db, "a", old)
    assert db.execute("SELECT epoch FROM reminders_sent").fetchall() == [(2,)]
    assert acquire_leadership(db, "a", lease_seconds=60) is None
    with pytest.raises(StoreError, match="inside the transaction"):
        fence(db, "b", 2)


def test_work_on_one_key_is_serialized_and_other_keys_run_on(db: Connection, postgres_url: str) -> None:
    with connect(postgres_url) as other, db.transaction():
        serialize(db, "story:place:Idlib")
        other.execute("SET lock_timeout = '200ms'")
        with pytest.raises(psycopg.errors.LockNotAvailable), other.transaction():
            serialize(other, "story:place:Idlib")
        with other.transaction():
            serialize(other, "story:place:Kharkiv")
