"""A full state filesystem (#18 item 6): a real `tocsin run` on a 2 MiB tmpfs, its feeds on a local server and its
alerts to a real webhook receiver. While the disk is full the daemon keeps running and says so (/healthz degraded,
tocsin_store_errors_total, the feed failing, one log line naming the state path and the space it needs); once
space is freed it resumes by itself, and every item served in the meantime is taken in and its alert delivered.

Mounting needs root: the test skips cleanly without it (or where mounting is refused, as in most containers)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import string
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.daemon_process import DaemonProcess
from tests.servers.feed_server import FeedServer, running_server
from tests.servers.webhook_receiver import Answer, WebhookReceiver
from tocsin.store import open_database
from tocsin.store.outbox import OutboxStore

pytestmark = pytest.mark.slow

FILESYSTEM_SIZE = "2m"


@pytest.fixture
def small_filesystem(tmp_path: Path) -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount_point = tmp_path / "small"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={FILESYSTEM_SIZE}", "tmpfs", str(mount_point)],
                             capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=False)


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    yield from running_server()


def fill(directory: Path, database: Path) -> Path:
    """Write a file until the filesystem refuses more; returns it. The write-ahead log is cut back first, as an
    operator's checkpoint would: a log file keeps its size and SQLite writes into it again, so without this the
    daemon's next small transactions could still fit and the disk would not be full for them."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    filler = directory / "filler"
    block = b"\0" * 4096
    with filler.open("wb", buffering=0) as out, contextlib.suppress(OSError):
        while True:
            out.write(block)
    return filler


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def health(base: str) -> dict[str, Any]:
    return dict(json.loads(get(f"{base}/healthz")[1]))


def store_errors(base: str, kind: str) -> float:
    found = re.search(rf'^tocsin_store_errors_total{{kind="{kind}"}} (\S+)$', get(f"{base}/metrics")[1], re.M)
    return float(found.group(1)) if found else 0.0


def feeds_failing(base: str) -> float:
    found = re.search(r"^tocsin_feeds_failing (\S+)$", get(f"{base}/metrics")[1], re.M)
    assert found is not None
    return float(found.group(1))


def wait_until(condition: Callable[[], bool], what: str, daemon: DaemonProcess, timeout_s: float = 45.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        assert daemon.process.poll() is None, f"tocsin exited while waiting for {what}:\n{daemon.output}"
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout_s}s: {what}; output:\n{daemon.output}")


def add_distinct_items(feeds: FeedServer, count: int) -> list[str]:
    """Items that each fire the rule and share no other word, so each is its own story and alert; their titles."""
    added = feeds.add_items("news", count)
    for item in added:
        item.title = f"Shelled {' '.join(_word() for _ in range(4))}"
        item.description = ""
    return [item.title for item in added]


def _word() -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(9))


def write_config(tmp_path: Path, state_dir: Path, feeds: FeedServer, receiver: WebhookReceiver) -> Path:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "shelling.toml").write_text(
        '[[rule]]\nid = "shelling"\ntitle = "Shelling"\nseverity = "high"\ntags = ["strike"]\nany = ["shelled"]\n'
    )
    config = tmp_path / "tocsin.toml"
    config.write_text(tomli_w.dumps({
        "state_dir": str(state_dir),
        "polling": {"interval": "1s", "jitter": "0s", "backoff_max": "2s"},
        "rules": {"paths": [str(rules)]},
        "escalation": {"realert_interval": "0s"},  # every item an alert of its own, none throttled
        "health": {"listen": "127.0.0.1:0"},
        "feeds": [{"name": "news", "url": feeds.url("/plain/news"), "backfill": True}],
        "delivery": {
            "receivers": [{"name": "hook", "kind": "webhook", "url": receiver.url, "timeout": "10s"}],
            "default": {"receivers": ["hook"]},
            "grouping": {"group_wait": "0s", "group_interval": "0s"},
            "retry": {"base": "200ms", "max": "1s"},
        },
    }))
    return config


def deliveries_of(receiver: WebhookReceiver, titles: list[str]) -> dict[str, int]:
    """How many accepted deliveries carried each title."""
    bodies = [request.body.decode() for request in receiver.accepted()]
    return {title: sum(title in body for body in bodies) for title in titles}


def test_a_full_state_filesystem_is_reported_and_survived(
    tmp_path: Path, small_filesystem: Path, feeds: FeedServer
) -> None:
    state_dir = small_filesystem / "state"
    feeds.add_feed("news")
    before = add_distinct_items(feeds, 2)
    with WebhookReceiver() as receiver:
        # The first deliveries are answered late: their outcomes come back once the disk is full and must not be
        # lost (which would send them again).
        receiver.then(*(Answer(delay_s=1.5) for _ in before))
        config = write_config(tmp_path, state_dir, feeds, receiver)
        with DaemonProcess(config) as daemon:
            base = daemon.health_url()
            receiver.wait_for(len(before), timeout_s=30)  # received, not yet answered
            assert health(base)["status"] == "ok"

            filler = fill(small_filesystem, state_dir / "tocsin.sqlite3")
            during = add_distinct_items(feeds, 3)
            wait_until(lambda: health(base)["status"] == "degraded", "/healthz degraded", daemon)
            report = health(base)
            assert str(state_dir) in report["storage_error"]
            assert "news" in report["feeds"]["failing_names"]
            assert store_errors(base, "full") >= 1
            assert feeds_failing(base) == 1
            logged = daemon.wait_for_line(r"ERROR .*the state filesystem is full")
            assert str(state_dir) in logged.string and "free at least" in logged.string
            time.sleep(3)  # several more polls and delivery cycles fail on the full disk
            assert daemon.process.poll() is None

            filler.unlink()
            wait_until(lambda: health(base)["status"] == "ok", "/healthz ok again", daemon)
            receiver.wait_for(len(before) + len(during), timeout_s=30)
            wait_until(lambda: feeds_failing(base) == 0, "the feed healthy again", daemon)
            assert daemon.stop() == 0

    # Every item served, before the disk filled and while it was full, was taken in and its alert delivered once.
    assert deliveries_of(receiver, before + during) == dict.fromkeys(before + during, 1)
    assert "Traceback" not in daemon.output
    db = open_database(state_dir / "tocsin.sqlite3")
    try:
        assert OutboxStore(db).counts()["pending"] == 0
    finally:
        db.close()
    shutil.rmtree(state_dir)
