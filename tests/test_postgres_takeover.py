"""The leader's singleton jobs across a takeover: a leader paused (SIGSTOP) past its lease while another instance
takes over, then resumed (SIGCONT), sends no deadline reminder a second time. Real daemons, a real PostgreSQL
server and a webhook receiver on 127.0.0.1."""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.daemon_process import DaemonProcess
from tests.servers.feed_server import FeedServer
from tests.servers.webhook_receiver import WebhookReceiver
from tests.test_postgres_instances import get_json, wait_until

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'tocsin[postgres]')")


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()

LEASE_S = 2.0
REMINDERS = ("6s", "3s", "0s")


def write_config(tmp_path: Path, instance: int, url: str, feeds: FeedServer, receiver: WebhookReceiver) -> Path:
    if "quiet" not in feeds.feeds:
        feeds.add_feed("quiet")
    config: dict[str, Any] = {
        "state_dir": str(tmp_path / f"state-{instance}"),
        "polling": {"interval": "30s", "jitter": "0s"},
        "health": {"listen": "127.0.0.1:0"},
        "store": {"url": url, "lease": f"{LEASE_S}s"},
        "escalation": {"deadline_reminders": list(REMINDERS)},
        "delivery": {"receivers": [{"name": "hook", "kind": "webhook", "url": receiver.url}],
                     "default": {"receivers": ["hook"]}, "grouping": {"group_wait": "0s", "group_interval": "0s"}},
        "feeds": [{"name": "quiet", "url": feeds.url("/feed/quiet")}],
    }
    path = tmp_path / f"tocsin-{instance}.toml"
    path.write_text(tomli_w.dumps(config), encoding="utf-8")
    return path


def track_deadline(url: str, seconds_ahead: int) -> None:
    """A deadline as an ingest tracks it (escalate/deadlines.py), due `seconds_ahead` from the database's now."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO deadlines (id, at, text, title, noun, rule, severity, places, actors, tags, story_id,"
            " last_reminder_at) VALUES ('ddl_test', extract(epoch FROM now())::bigint + %s, 'within hours',"
            " 'Turkey demands withdrawal from Idlib', 'Ultimatum', 'ultimatum', 'high', %s, '[]', %s, 'sty_test',"
            " extract(epoch FROM now())::bigint)",
            (seconds_ahead, json.dumps(["Idlib"]), json.dumps(["deadline"])),
        )


def expired_sent(hook: WebhookReceiver) -> bool:
    return any(r.json()["kind"] == "deadline_reminder" and r.json()["extra"]["expired"] for r in hook.accepted())


def leading(daemon: DaemonProcess) -> bool:
    return bool(get_json(daemon.health_url() + "/healthz")["instance"]["leading"])


def reminders(hook: WebhookReceiver) -> Counter[str]:
    return Counter(r.headers["webhook-id"] for r in hook.accepted() if r.json()["kind"] == "deadline_reminder")


def test_a_leader_paused_past_its_lease_sends_no_reminder_twice_when_resumed(
    tmp_path: Path, postgres_url: str, server: FeedServer, receiver: WebhookReceiver
) -> None:
    first = DaemonProcess(write_config(tmp_path, 0, postgres_url, server, receiver))
    second: DaemonProcess | None = None
    try:
        wait_until(lambda: leading(first), 20, "the first instance leads")
        second = DaemonProcess(write_config(tmp_path, 1, postgres_url, server, receiver))
        second.health_url()
        # Reminders fall due 6, 3 and 0 s before the deadline: the first while the old leader is paused (taken
        # over by the second instance), the last after it was resumed.
        track_deadline(postgres_url, 6 + int(LEASE_S) + 3)
        first.send(signal.SIGSTOP)
        paused_at = time.monotonic()
        wait_until(lambda: second is not None and leading(second), LEASE_S + 10, "the second instance takes over")
        wait_until(lambda: len(reminders(receiver)) >= 1, 15, "a reminder sent while the old leader is paused")
        first.send(signal.SIGCONT)
        assert time.monotonic() - paused_at > LEASE_S
        wait_until(lambda: expired_sent(receiver), 30, "the reminder at expiry sent")
        time.sleep(LEASE_S * 2)  # ticks of the resumed instance, had it still believed it led
        assert leading(second) and not leading(first)
    finally:
        first.send(signal.SIGCONT)
        codes = [daemon.stop() for daemon in (first, second) if daemon is not None]
        for daemon in (first, second):
            print(daemon.output if daemon is not None else "")  # shown when the test fails
    assert codes == [0, 0], "\n".join(daemon.output for daemon in (first, second) if daemon is not None)
    # Each reminder once. (On a loaded machine a tick may come after two offsets at once: then only the later
    # of the two is sent, by design, so there may be fewer than three.)
    sent = reminders(receiver)
    assert set(sent.values()) == {1}, sent
    expired = [r.json()["extra"]["expired"] for r in receiver.accepted() if r.json()["kind"] == "deadline_reminder"]
    assert expired[-1] is True and expired.count(True) == 1 and len(expired) >= 2, expired
