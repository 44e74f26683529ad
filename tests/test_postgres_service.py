"""One Service on a shared (PostgreSQL) store, in process: `run --once` respects the leases other instances hold,
and the stages on the database thread take their time from the database, not from the machine's clock."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.servers.feed_server import FeedServer
from tests.test_poll import make_settings
from tocsin.clock import SimulatedClock
from tocsin.rulebook import load_rulebook
from tocsin.runtime.service import PollOutcome, Service
from tocsin.store.leases import claim_due_feeds

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'tocsin[postgres]')")

RULE = '[[rule]]\nid = "quake"\ntitle = "Quake"\nseverity = "high"\nany = ["quake"]\n'


def shared_service(tmp_path: Path, url: str, server: FeedServer, names: list[str],
                   clock: SimulatedClock | None = None) -> Service:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "quake.toml").write_text(RULE, encoding="utf-8")
    feeds = [{"name": name, "url": server.url(f"/feed/{name}"), "backfill": True} for name in names]
    settings = make_settings(tmp_path / "state", feeds, store={"url": url, "lease": "30s"},
                             rules={"paths": [str(rules)]})
    return Service(settings, load_rulebook([rules]), clock=clock, parse_in_processes=False)


async def test_run_once_polls_only_the_feeds_no_other_instance_holds_and_hands_them_back(
    tmp_path: Path, postgres_url: str, server: FeedServer
) -> None:
    names = [f"f{n}" for n in range(6)]
    for name in names:
        server.add_feed(name, 1)
    service = shared_service(tmp_path, postgres_url, server, names)
    await service.start()
    try:
        with psycopg.connect(postgres_url, autocommit=True) as other:
            held = claim_due_feeds(other, "another-instance", limit=2, lease_seconds=60)
        first = await service.run_once()
        # Polled again at once: nothing is due (each feed was handed back with its next poll time).
        second = await service.run_once()
    finally:
        await service.stop(1)
    assert len(held) == 2
    assert {name for name, outcome in first.items() if outcome == PollOutcome.SKIPPED} == set(held)
    assert all(first[name] == PollOutcome.CHANGED for name in set(names) - set(held))
    assert set(second.values()) == {PollOutcome.SKIPPED}
    for name in names:
        assert len(server.requests_to(f"/feed/{name}")) == (0 if name in held else 1), name
    with psycopg.connect(postgres_url) as connection:
        leased = connection.execute("SELECT name, lease_holder FROM feed_state WHERE lease_holder IS NOT NULL"
                                    " ORDER BY name").fetchall()
        due_in = connection.execute("SELECT min(next_poll_at - extract(epoch FROM now())) FROM feed_state"
                                    " WHERE lease_holder IS NULL").fetchone()[0]
    assert leased == [(name, "another-instance") for name in sorted(held)]
    assert due_in > 500, "handed back due again after the 10 min interval"


async def test_story_and_seen_times_come_from_the_database_clock_not_the_machines(
    tmp_path: Path, postgres_url: str, server: FeedServer
) -> None:
    server.add_feed("a")
    server.add_items("a", 2, prefix="quake near")
    skewed = SimulatedClock(datetime(2001, 1, 1, tzinfo=UTC))  # a machine whose clock is 25 years behind
    service = shared_service(tmp_path, postgres_url, server, ["a"], clock=skewed)
    await service.start()
    try:
        outcomes = await service.run_once()
    finally:
        await service.stop(1)
    assert outcomes == {"a": PollOutcome.CHANGED}
    with psycopg.connect(postgres_url) as connection:
        seen = [row[0] for row in connection.execute("SELECT seen_at FROM seen_items")]
        stories = connection.execute("SELECT first_at, last_at FROM stories").fetchall()
        created = [row[0] for row in connection.execute("SELECT created_at FROM alerts WHERE kind = 'match'")]
    assert seen and stories and created
    for stamp in [*seen, *(at for row in stories for at in row), *created]:
        assert abs(float(stamp) - time.time()) < 120, stamp
