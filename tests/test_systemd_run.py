"""A real `tocsin run` as systemd sees it: the sd_notify sequence on a fake NOTIFY_SOCKET, the watchdog, reloads
(SIGHUP and rule-file changes), /healthz, and a clean stop."""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import sqlite3
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.alert_factory import make_alert
from tests.conftest import REPO
from tests.daemon_process import DaemonProcess
from tests.notify_socket import FakeNotifySocket
from tests.servers.feed_server import FeedItem, FeedServer, running_server
from tests.servers.webhook_receiver import WebhookReceiver
from tocsin.alerts import Alert
from tocsin.clock import SystemClock
from tocsin.config import Settings, load_config
from tocsin.deliver.route import Router
from tocsin.store import open_database
from tocsin.store.feeds import FeedStates
from tocsin.store.outbox import OutboxStore

pytestmark = pytest.mark.slow


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    yield from running_server()


def write_config(
    path: Path, feeds: FeedServer, names: list[str], backfill: tuple[str, ...] = (), **sections: Any
) -> Path:
    config: dict[str, Any] = {
        "state_dir": str(path.parent / "state"),
        "polling": {"interval": "1h", "jitter": "1s"},
        "rules": {"paths": [str(path.parent / "rules")]},
        "health": {"listen": "127.0.0.1:0"},
        "feeds": [{"name": name, "url": feeds.url(f"/feed/{name}"), "backfill": name in backfill} for name in names],
        **sections,
    }
    path.write_text(tomli_w.dumps(config))
    return path


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    """A copy of the shipped rule pack: a real, valid rule set the tests can break and mend."""
    target = tmp_path / "rules"
    shutil.copytree(REPO / "rules", target)
    return target


def get_json(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_notify_sequence_of_a_real_run(
    tmp_path: Path, feeds: FeedServer, notify_socket: FakeNotifySocket, rules_dir: Path
) -> None:
    feeds.add_feed("first", 2)
    config = write_config(tmp_path / "tocsin.toml", feeds, ["first"])
    with DaemonProcess(config, env={"NOTIFY_SOCKET": notify_socket.address, "WATCHDOG_USEC": "400000"}) as daemon:
        ready = notify_socket.wait_for("READY", timeout_s=30)
        assert "1 feed(s)" in ready["STATUS"]
        notify_socket.wait_for("WATCHDOG")
        notify_socket.wait_for("WATCHDOG")  # keeps pinging, every 0.2 s here
        status, health = get_json(daemon.health_url() + "/healthz")
        assert status == 200
        assert health["status"] == "ok"
        assert health["feeds"]["enabled"] == 1

        daemon.send(signal.SIGHUP)
        reloading = notify_socket.wait_for("RELOADING")
        assert int(reloading["MONOTONIC_USEC"]) > 0
        assert "1 feed(s)" in notify_socket.wait_for("READY")["STATUS"]

        assert daemon.stop() == 0
        notify_socket.wait_for("STOPPING")
    sequence = [key for message in notify_socket.messages for key in ("READY", "RELOADING", "STOPPING")
                if key in message]
    assert sequence == ["READY", "RELOADING", "READY", "STOPPING"]


def test_reload_with_a_broken_rule_file_keeps_the_old_rules(
    tmp_path: Path, feeds: FeedServer, notify_socket: FakeNotifySocket, rules_dir: Path
) -> None:
    feeds.add_feed("first", 1)
    config = write_config(tmp_path / "tocsin.toml", feeds, ["first"])
    with DaemonProcess(config, env={"NOTIFY_SOCKET": notify_socket.address}) as daemon:
        notify_socket.wait_for("READY", timeout_s=30)
        health_url = daemon.health_url() + "/healthz"
        rules_before = get_json(health_url)[1]["rules_loaded"]
        assert rules_before > 0
        broken = rules_dir / "zz-broken.toml"
        broken.write_text('[[rule]]\nid = "typo"\ntitle = "Typo"\nseverty = "high"\n')
        mark = len(daemon.lines)
        daemon.send(signal.SIGHUP)
        notify_socket.wait_for("RELOADING")
        status = notify_socket.wait_for("READY")["STATUS"]
        assert status.startswith("reload failed at ")
        assert "running with the previous configuration" in status
        daemon.wait_for_line(r"ERROR .*reload: .*zz-broken\.toml.*severty", after=mark)
        code, health = get_json(health_url)
        assert code == 200  # still serving, with the old rules, but not the rules on disk
        assert health["status"] == "degraded"
        assert health["rules_loaded"] == rules_before
        assert "zz-broken.toml" in health["reload_error"]
        # One problem, one error line: not the same mistake again in a second wording.
        assert sum("severty" in line for line in daemon.lines[mark:] if "ERROR" in line) == 1, daemon.lines[mark:]

        broken.unlink()
        daemon.send(signal.SIGHUP)
        notify_socket.wait_for("RELOADING")
        assert "reload failed" not in notify_socket.wait_for("READY")["STATUS"]
        assert get_json(health_url)[1]["reload_error"] is None
        assert get_json(health_url)[1]["status"] == "ok"
        assert daemon.stop() == 0


def test_reload_with_a_new_feed_polls_it(
    tmp_path: Path, feeds: FeedServer, notify_socket: FakeNotifySocket, rules_dir: Path
) -> None:
    feeds.add_feed("first", 1)
    feeds.add_feed("second").items.append(FeedItem(
        guid="heli-1", title="Syrian army helicopter shot down over Idlib", link="https://news.example.org/heli-1",
        description="A Syrian army helicopter was shot down by rebels over Idlib province, a war monitor said.",
    ))
    config = write_config(tmp_path / "tocsin.toml", feeds, ["first"])
    with DaemonProcess(config, env={"NOTIFY_SOCKET": notify_socket.address}) as daemon:
        notify_socket.wait_for("READY", timeout_s=30)
        daemon.wait_for_line(r'feed "first": 1 item')
        assert feeds.requests_to("/feed/second") == []
        write_config(config, feeds, ["first", "second"], backfill=("second",))
        daemon.send(signal.SIGHUP)
        assert "2 feed(s)" in notify_socket.wait_for("READY")["STATUS"]
        daemon.wait_for_line(r'feed "second": 1 item')
        assert len(feeds.requests_to("/feed/second")) == 1
        with urllib.request.urlopen(daemon.health_url() + "/metrics", timeout=5) as response:
            exposition = response.read().decode()
        assert 'tocsin_matches_total{rule="shootdown-aircraft"} 1.0' in exposition
        assert 'tocsin_polls_total{outcome="changed"} 2.0' in exposition
        assert daemon.stop() == 0


def test_watched_rule_files_reload_without_a_signal(
    tmp_path: Path, feeds: FeedServer, notify_socket: FakeNotifySocket, rules_dir: Path
) -> None:
    feeds.add_feed("first", 0)
    config = write_config(tmp_path / "tocsin.toml", feeds, ["first"],
                          rules={"paths": [str(rules_dir)], "watch": True})
    with DaemonProcess(config, env={"NOTIFY_SOCKET": notify_socket.address}) as daemon:
        notify_socket.wait_for("READY", timeout_s=30)
        edited = sorted(rules_dir.glob("*.toml"))[0]
        edited.write_text(edited.read_text() + "\n# edited by an analyst\n")
        reloading = notify_socket.wait_for("RELOADING", timeout_s=15)
        assert edited.name in reloading["STATUS"]
        assert "reload failed" not in notify_socket.wait_for("READY")["STATUS"]
        assert daemon.stop() == 0


def test_invalid_config_exits_78_before_notifying(
    tmp_path: Path, feeds: FeedServer, notify_socket: FakeNotifySocket
) -> None:
    config = tmp_path / "tocsin.toml"
    config.write_text('[polling]\ninterval = "5 minutes"\n')
    with DaemonProcess(config, env={"NOTIFY_SOCKET": notify_socket.address}) as daemon:
        assert daemon.wait() == 78
    assert "polling.interval" in daemon.output
    assert notify_socket.next_message(0.1) is None


SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _one_alert_queued_for_a_down_hook(tmp_path: Path, feeds: FeedServer,
                                      receiver: WebhookReceiver) -> tuple[Path, Settings, dict[str, str], Alert]:
    """A config whose webhook "hook" is `receiver` (down until started), with one alert already in the outbox."""
    # The signing secret comes as systemd passes it with LoadCredential=tocsin:/etc/tocsin/credentials.
    credentials = tmp_path / "credentials"
    credentials.mkdir()
    (credentials / "tocsin_hook-secret").write_text(SECRET + "\n")
    config = write_config(tmp_path / "tocsin.toml", feeds, [], delivery={
        "receivers": [{"name": "hook", "kind": "webhook", "url": receiver.url,
                       "secret": {"credential": "hook-secret"}, "timeout": "2s"}],
        "default": {"receivers": ["hook"]},
        "grouping": {"group_wait": "0s", "group_interval": "0s"},
        "retry": {"base": "200ms", "max": "500ms"},
    })
    settings = load_config(config)
    alert = make_alert(1, created=datetime.now(UTC))
    db = open_database(settings.database_path)
    with db.transaction():
        Router(db, settings.delivery, SystemClock()).enqueue([alert])
    db.close()
    return config, settings, {"CREDENTIALS_DIRECTORY": str(credentials)}, alert


def test_sigterm_with_a_delivery_pending_exits_cleanly_and_delivers_after_restart(
    tmp_path: Path, feeds: FeedServer, rules_dir: Path
) -> None:
    receiver = WebhookReceiver(secret=SECRET)  # down until the restart
    config, settings, env, alert = _one_alert_queued_for_a_down_hook(tmp_path, feeds, receiver)

    with DaemonProcess(config, env=env) as first:
        first.wait_for_line(r"WARNING .*receiver hook is failing: ")
        assert first.stop() == 0
    assert SECRET not in first.output
    assert _outbox_counts(settings.database_path)["pending"] == 1

    with receiver, DaemonProcess(config, env=env) as second:
        [delivered] = receiver.wait_for(1, timeout_s=30)
        assert second.stop() == 0
    assert delivered.verified
    assert delivered.headers["webhook-id"] == alert.id
    assert _outbox_counts(settings.database_path)["pending"] == 0


def test_a_down_receiver_is_logged_when_it_fails_and_when_it_recovers_not_per_attempt(
    tmp_path: Path, feeds: FeedServer, rules_dir: Path
) -> None:
    receiver = WebhookReceiver(secret=SECRET)
    config, _, env, _ = _one_alert_queued_for_a_down_hook(tmp_path, feeds, receiver)
    with DaemonProcess(config, env=env) as daemon:
        daemon.wait_for_line(r"WARNING .*receiver hook is failing: ")
        time.sleep(3)  # retries every 200-500 ms: more failed attempts, however loaded the machine
        with receiver:
            receiver.wait_for(1, timeout_s=30)
            recovered = daemon.wait_for_line(r"INFO .*receiver hook recovered after (\d+) failed attempt\(s\)")
        assert daemon.stop() == 0
    assert int(recovered.group(1)) >= 2
    warnings = [line for line in daemon.lines if "WARNING" in line and "hook" in line]
    assert len(warnings) == 1, warnings


def _outbox_counts(database: Path) -> dict[str, int]:
    db = open_database(database)
    try:
        return dict(OutboxStore(db).counts())
    finally:
        db.close()


def test_state_database_backs_up_while_running(tmp_path: Path, feeds: FeedServer, rules_dir: Path) -> None:
    """The two online backups docs/operations.md recommends, taken from a running daemon, are usable copies."""
    feeds.add_feed("first", 3)
    config = write_config(tmp_path / "tocsin.toml", feeds, ["first"])
    live = load_config(config).database_path
    with DaemonProcess(config) as daemon:
        daemon.wait_for_line(r'feed "first": 3 item')
        with contextlib.closing(sqlite3.connect(live)) as source:
            source.execute("VACUUM INTO ?", (str(tmp_path / "vacuumed.sqlite3"),))
            with contextlib.closing(sqlite3.connect(tmp_path / "backed-up.sqlite3")) as target:
                source.backup(target)
        assert daemon.stop() == 0
    for copy in ("vacuumed.sqlite3", "backed-up.sqlite3"):
        restored = open_database(tmp_path / copy)
        try:
            [state] = FeedStates(restored).all()
            assert (state.name, state.items_total, state.health) == ("first", 3, "ok")
        finally:
            restored.close()


def test_health_port_taken_is_logged_and_the_daemon_runs_on(
    tmp_path: Path, feeds: FeedServer, notify_socket: FakeNotifySocket, rules_dir: Path
) -> None:
    feeds.add_feed("first", 1)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        config = write_config(tmp_path / "tocsin.toml", feeds, ["first"], health={"listen": f"127.0.0.1:{port}"})
        with DaemonProcess(config, env={"NOTIFY_SOCKET": notify_socket.address}) as daemon:
            notify_socket.wait_for("READY", timeout_s=30)
            daemon.wait_for_line(rf"ERROR .*cannot listen on 127\.0\.0\.1:{port}")
            daemon.wait_for_line(r'feed "first": 1 item')
            assert daemon.stop() == 0


def test_a_reload_whose_health_address_cannot_be_bound_changes_nothing(
    tmp_path: Path, feeds: FeedServer, notify_socket: FakeNotifySocket, rules_dir: Path
) -> None:
    feeds.add_feed("first", 1)
    feeds.add_feed("second", 1)
    config = write_config(tmp_path / "tocsin.toml", feeds, ["first"])
    with socket.socket() as taken, DaemonProcess(config, env={"NOTIFY_SOCKET": notify_socket.address}) as daemon:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        notify_socket.wait_for("READY", timeout_s=30)
        daemon.wait_for_line(r'feed "first": 1 item')
        health_url = daemon.health_url() + "/healthz"
        write_config(config, feeds, ["first", "second"], health={"listen": f"127.0.0.1:{port}"})
        mark = len(daemon.lines)
        daemon.send(signal.SIGHUP)
        assert notify_socket.wait_for("READY")["STATUS"].startswith("reload failed at ")
        daemon.wait_for_line(rf"ERROR .*reload: health\.listen: cannot listen on 127\.0\.0\.1:{port}", after=mark)
        code, health = get_json(health_url)  # the old listener still serves
        assert code == 200 and health["feeds"]["enabled"] == 1
        assert feeds.requests_to("/feed/second") == []
        assert daemon.stop() == 0
    assert feeds.requests_to("/feed/second") == []
