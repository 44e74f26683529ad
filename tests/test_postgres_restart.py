"""PostgreSQL restarted under load: two running instances lose their connections mid-cycle, reconnect once the
server is back, and take in and deliver everything, an alert at most re-sent under its own id. A cluster of its
own, so that the other tests' server is never restarted."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon_process import DaemonProcess
from tests.servers.feed_server import FeedServer
from tests.servers.postgres_server import Cluster, binaries, running_cluster
from tests.servers.webhook_receiver import WebhookReceiver
from tests.test_postgres_instances import add_feeds, decided_alerts, items_taken_in, wait_until, write_config

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'tocsin[postgres]')")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    if binaries() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with running_cluster() as own:
        yield own


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()


def taken_in(url: str) -> dict[str, int]:
    try:
        return items_taken_in(url)
    except psycopg.Error:  # not yet created, or the server is down
        return {}


def test_instances_reconnect_after_a_database_restart_and_lose_nothing(
    tmp_path: Path, cluster: Cluster, server: FeedServer, receiver: WebhookReceiver
) -> None:
    url = cluster.create_database("restart")
    names = add_feeds(server, 60)
    daemons = [DaemonProcess(write_config(tmp_path, n, url, server, names, receiver)) for n in range(2)]
    try:
        wait_until(lambda: set(taken_in(url).values()) == {1}, 60, "the first items taken in")
        for number, name in enumerate(names):
            server.add_items(name, 1, prefix=f"quake shakes region{number} anew")
        # Down while the instances poll the new items: some polls and ingests fail midway.
        time.sleep(1.0)
        cluster.stop("fast")
        time.sleep(3.0)
        cluster.start()
        wait_until(lambda: set(taken_in(url).values()) == {2}, 90, "every new item taken in after the restart")
        decided = decided_alerts(url)
        wait_until(lambda: {r.headers["webhook-id"] for r in receiver.accepted()} >= decided, 60,
                   "every decided alert delivered")
        alive = [daemon.process.poll() is None for daemon in daemons]
    finally:
        codes = [daemon.stop() for daemon in daemons]
        for daemon in daemons:
            print(daemon.output)  # shown when the test fails
    assert alive == [True, True]
    assert codes == [0, 0]
    # The outage reached the instances (their statements failed), and they carried on.
    assert any("terminating connection" in daemon.output or "server closed the connection" in daemon.output
               or "connection failed" in daemon.output for daemon in daemons)
    delivered = Counter(r.headers["webhook-id"] for r in receiver.accepted())
    assert set(delivered) == decided
    assert items_taken_in(url) == dict.fromkeys(names, 2), "each item taken in once"
