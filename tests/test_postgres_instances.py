"""Several `tocsin run` instances on one PostgreSQL database share the work: every due feed is polled by one of
them once per cycle, every decided alert is delivered once, and the work of an instance killed mid-cycle is taken
over after its lease. Real daemons, a real PostgreSQL server, feeds and a receiver on 127.0.0.1."""

from __future__ import annotations

import itertools
import json
import signal
import time
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.daemon_process import DaemonProcess
from tests.servers.feed_server import FeedServer, running_server
from tests.servers.webhook_receiver import WebhookReceiver

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'tocsin[postgres]')")

INTERVAL_S = 6.0
LEASE_S = 4.0
RULE = '[[rule]]\nid = "quake"\ntitle = "Quake"\nseverity = "high"\nany = ["quake"]\n'


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    yield from running_server()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()


def write_config(tmp_path: Path, instance: int, url: str, feeds: FeedServer, names: list[str],
                 receiver: WebhookReceiver) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "quake.toml").write_text(RULE, encoding="utf-8")
    config: dict[str, Any] = {
        "state_dir": str(tmp_path / f"state-{instance}"),
        "polling": {"interval": f"{INTERVAL_S}s", "jitter": "0s"},
        "rules": {"paths": [str(rules)]},
        "health": {"listen": "127.0.0.1:0"},
        "store": {"url": url, "lease": f"{LEASE_S}s"},
        "http": {"concurrency": 8},
        "delivery": {"receivers": [{"name": "hook", "kind": "webhook", "url": receiver.url}],
                     "default": {"receivers": ["hook"]}, "grouping": {"group_wait": "0s", "group_interval": "0s"}},
        "feeds": [{"name": name, "url": feeds.url(f"/feed/{name}"), "backfill": True} for name in names],
    }
    path = tmp_path / f"tocsin-{instance}.toml"
    path.write_text(tomli_w.dumps(config), encoding="utf-8")
    return path


def add_feeds(feeds: FeedServer, count: int) -> list[str]:
    names = [f"f{number:04d}" for number in range(count)]
    for name in names:
        feeds.add_feed(name)
        feeds.add_items(name, 1, prefix="quake near")
    return names


def polls_by_feed(feeds: FeedServer) -> dict[str, list[float]]:
    times: dict[str, list[float]] = defaultdict(list)
    with feeds.lock:
        for path, at in feeds.request_times:
            times[path.removeprefix("/feed/")].append(at)
    return times


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def get_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def wait_until(condition: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout_s}s: {what}")


def items_taken_in(url: str) -> dict[str, int]:
    """Per feed, how many new items its polls took in (items_total): 1 when its one item was ingested once."""
    with psycopg.connect(url) as connection:
        return {str(name): int(total) for name, total in connection.execute("SELECT name, items_total FROM feed_state")}


def leases_left(url: str) -> dict[str, float]:
    """The feeds leased now, each with the seconds its lease has left (on the database's clock)."""
    with psycopg.connect(url) as connection:
        return {str(name): float(left) for name, left in connection.execute(
            "SELECT name, lease_until - extract(epoch FROM now()) FROM feed_state"
            " WHERE lease_until > extract(epoch FROM now())"
        )}


def decided_alerts(url: str) -> set[str]:
    with psycopg.connect(url) as connection:
        return {str(row[0]) for row in connection.execute("SELECT id FROM alerts WHERE kind = 'match'")}


def test_three_instances_poll_each_due_feed_once_per_cycle_and_deliver_each_alert_once(
    tmp_path: Path, postgres_url: str, feeds: FeedServer, receiver: WebhookReceiver
) -> None:
    names = add_feeds(feeds, 300)
    daemons = [DaemonProcess(write_config(tmp_path, n, postgres_url, feeds, names, receiver)) for n in range(3)]
    try:
        # Two full cycles: every feed polled at least twice.
        wait_until(lambda: len(polls_by_feed(feeds)) == len(names)
                   and min(len(times) for times in polls_by_feed(feeds).values()) >= 2, 60, "two cycles")
        decided = decided_alerts(postgres_url)
        wait_until(lambda: {r.headers["webhook-id"] for r in receiver.accepted()} >= decided, 20,
                   "every decided alert delivered")
        instances = [get_json(daemon.health_url() + "/healthz")["instance"] for daemon in daemons]
        metrics = [get_text(daemon.health_url() + "/metrics") for daemon in daemons]
    finally:
        codes = [daemon.stop() for daemon in daemons]
    # Each instance names itself, sees the three, and they agree on one leader.
    assert len({instance["name"] for instance in instances}) == 3
    assert [instance["instances_alive"] for instance in instances] == [3, 3, 3]
    assert [instance["leading"] for instance in instances].count(True) == 1
    assert len({instance["leader"] for instance in instances}) == 1
    assert all("tocsin_instances_alive 3.0" in text for text in metrics)
    assert sorted("tocsin_leader 1.0" in text for text in metrics) == [False, False, True]
    assert codes == [0, 0, 0], "\n".join(daemon.output for daemon in daemons)
    for name, times in polls_by_feed(feeds).items():
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert min(gaps) > INTERVAL_S * 0.8, f"{name} polled twice in one cycle: {gaps}"
    # Each feed's one item was taken in once, by one of the instances, and the instances shared the feeds.
    assert items_taken_in(postgres_url) == dict.fromkeys(names, 1)
    shares = [sum(", 1 new" in line for line in daemon.lines) for daemon in daemons]
    assert all(share > 0 for share in shares), shares
    assert len(decided) > 0
    delivered = Counter(r.headers["webhook-id"] for r in receiver.accepted())
    assert set(delivered) == decided
    assert set(delivered.values()) == {1}, [alert for alert, times in delivered.items() if times > 1]


def test_the_feeds_of_a_killed_instance_are_taken_over_after_its_lease(
    tmp_path: Path, postgres_url: str, feeds: FeedServer, receiver: WebhookReceiver
) -> None:
    names = add_feeds(feeds, 200)
    first = DaemonProcess(write_config(tmp_path, 0, postgres_url, feeds, names, receiver))
    try:
        first.wait_for_line(r'feed "f\d+": 1 item', timeout_s=30)
        first.send(signal.SIGKILL)
        first.wait()
        killed_at = time.monotonic()
        held = leases_left(postgres_url)
        second = DaemonProcess(write_config(tmp_path, 1, postgres_url, feeds, names, receiver))
        try:
            wait_until(lambda: len(polls_by_feed(feeds)) == len(names), 30, "every feed polled")
            wait_until(lambda: all(max(polls_by_feed(feeds)[name]) > killed_at for name in held), LEASE_S + 20,
                       "the dead instance's feeds polled again")
            decided = decided_alerts(postgres_url)
            wait_until(lambda: {r.headers["webhook-id"] for r in receiver.accepted()} >= decided, 30,
                       "every decided alert delivered")
            # A poll's request reaches the feed server before its ingest commits: on a loaded machine the last
            # ones may still be on their way.
            wait_until(lambda: min(items_taken_in(postgres_url).values()) >= 1, 20, "every item taken in")
        finally:
            assert second.stop() == 0, second.output
    finally:
        if first.process.poll() is None:
            first.send(signal.SIGKILL)
    assert decided
    # Every feed's item was taken in exactly once, however the work was split between the dead and the live
    # instance (an ingest commits the item with the feed's state, so a poll repeated after the kill finds it known).
    assert items_taken_in(postgres_url) == dict.fromkeys(names, 1)
    # The feeds the dead instance held were polled again only once their leases had run out.
    assert held, "the killed instance held no lease"
    polls = polls_by_feed(feeds)
    for name, seconds_left in held.items():
        again = [at for at in polls[name] if at > killed_at]
        assert again and again[0] >= killed_at + seconds_left - 0.5, (name, seconds_left, again[:1], killed_at)
