"""SIGKILL at any moment: after a restart every decided alert is delivered, at least once, with the same id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.servers.webhook_receiver import Answer, WebhookReceiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ALERTS = 60


def start(database: Path, receiver: WebhookReceiver, *mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.servers.delivery_process", str(database), receiver.url, SECRET, *mode],
        cwd=REPO, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def read_decided(process: subprocess.Popen[str], until: int) -> list[str]:
    assert process.stdout is not None
    decided = []
    deadline = time.monotonic() + 30
    while len(decided) < until and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if line.startswith("DECIDED "):
            decided.append(line.split()[1])
    return decided


def kill(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


@pytest.mark.slow
@pytest.mark.parametrize("receiver_up", [False, True], ids=["receiver-down", "killed-mid-delivery"])
def test_sigkill_then_restart_delivers_every_decided_alert(tmp_path: Path, receiver_up: bool) -> None:
    database = tmp_path / "tocsin.sqlite3"
    receiver = WebhookReceiver(secret=SECRET)
    if receiver_up:
        receiver.start()
        receiver.then(*(Answer(204) if n % 3 else Answer(503) for n in range(40)))
    first = start(database, receiver, "enqueue", str(ALERTS))
    try:
        decided = read_decided(first, until=ALERTS // 2)
    finally:
        kill(first)
    assert len(decided) == ALERTS // 2
    if not receiver_up:
        assert receiver.requests == []
        receiver.start()
    second = start(database, receiver, "deliver")
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            arrived = {request.headers["webhook-id"] for request in receiver.accepted()}
            if arrived >= set(decided):
                break
            time.sleep(0.05)
    finally:
        kill(second)
        receiver.stop()
    accepted = receiver.accepted()
    assert all(request.verified for request in receiver.requests)
    assert {request.headers["webhook-id"] for request in accepted} >= set(decided)
    assert all(request.json()["id"] == request.headers["webhook-id"] for request in accepted)
