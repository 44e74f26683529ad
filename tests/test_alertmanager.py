"""The alertmanager receiver against a real Alertmanager (Debian's prometheus-alertmanager, installed by .ci/run),
started on a free loopback port with a temporary config; what arrived is read back through Alertmanager's API."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.alert_factory import config, make_alert, setup
from tests.servers.webhook_receiver import free_port
from tocsin.alerts import Alert
from tocsin.severity import Severity

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
pytestmark = pytest.mark.skipif(BINARY is None, reason="Alertmanager is not installed "
                                                        "(apt-get install prometheus-alertmanager)")


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[str]:
    assert BINARY is not None
    (tmp_path / "am.yml").write_text("route:\n  receiver: nobody\nreceivers:\n  - name: nobody\n")
    port = free_port()
    process = subprocess.Popen(
        [BINARY, f"--config.file={tmp_path / 'am.yml'}", f"--storage.path={tmp_path / 'am-data'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(f"{url}/-/ready", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"alertmanager exited: {process.stderr.read().decode() if process.stderr else ''}")
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


def firing(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/api/v2/alerts?active=true", timeout=5) as answer:
        alerts: list[dict[str, Any]] = json.loads(answer.read())
    return [alert for alert in alerts if alert["status"]["state"] != "resolved"]


def situation_alert(level: str, previous: str, now: datetime, severity: Severity) -> Alert:
    return Alert(id=Alert.make_id("esc", level, previous), kind="escalation", severity=severity,
                 title=f"Idlib: {level}", summary="Idlib: level changed.", created=now, rule="repeated-shootdown",
                 places=("Idlib",), situation="place:Idlib", extra={"level": level, "previous_level": previous})


async def test_alerts_arrive_with_their_labels_and_are_posted_again(tmp_path: Path, alertmanager: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    s = setup(tmp_path, config([{"name": "am", "kind": "alertmanager", "url": alertmanager, "resend": "10m"}]),
              start=now)
    s.enqueue(make_alert(1, created=now, story_id="story_1", link="https://news.example.org/idlib/1"))
    assert await s.worker.drain(timeout_s=10) == 1, "delivered, and its re-post waits"
    (alert,) = firing(alertmanager)
    assert alert["labels"] == {"alertname": "shootdown-aircraft", "severity": "high", "kind": "match",
                               "story": "story_1", "place": "Idlib", "tags": "shootdown"}
    assert alert["annotations"]["summary"].startswith("Shootdown")
    assert alert["annotations"]["alert_id"] == make_alert(1).id
    assert alert["generatorURL"] == "https://news.example.org/idlib/1"
    ends = datetime.fromisoformat(alert["endsAt"])
    assert abs(ends - (now + timedelta(hours=24))) < timedelta(seconds=2)
    s.clock.advance(timedelta(minutes=11))
    await s.worker.drain(timeout_s=10)
    deliveries = s.worker.store.listing(None, 10)
    assert [d.state for d in deliveries] == ["pending", "delivered", "delivered"]
    await s.worker.close()


async def test_a_situation_alert_is_resolved_when_the_situation_falls(tmp_path: Path, alertmanager: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    s = setup(tmp_path, config([{"name": "am", "kind": "alertmanager", "url": alertmanager, "resend": "10m"}]),
              start=now)
    s.enqueue(situation_alert("high", "none", now - timedelta(seconds=2), Severity.HIGH))
    await s.worker.drain(timeout_s=10)
    (alert,) = firing(alertmanager)
    assert alert["labels"] == {"alertname": "escalation", "severity": "high", "kind": "escalation",
                               "situation": "place:Idlib", "place": "Idlib"}
    # The fall, decided a second later (the simulated clock stays behind the real one: endsAt is past).
    s.enqueue(situation_alert("none", "high", now - timedelta(seconds=1), Severity.LOW))
    await s.worker.drain(timeout_s=10)
    assert firing(alertmanager) == []
    s.clock.advance(timedelta(minutes=11))  # the rise's re-post falls due: superseded, it is not posted again
    await s.worker.drain(timeout_s=10)
    assert firing(alertmanager) == []
    assert s.worker.pending() == 0
    await s.worker.close()
