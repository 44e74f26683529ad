"""sd_notify over a real AF_UNIX datagram socket, and the watchdog ping loop."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import pytest

from tests.notify_socket import FakeNotifySocket
from tocsin.config.types import SecretRef
from tocsin.errors import ConfigError
from tocsin.runtime.systemd import Notifier, monotonic_usec, run_watchdog, watchdog_interval_s


def test_ready_with_status_arrives_as_one_message(notify_socket: FakeNotifySocket) -> None:
    notifier = Notifier(notify_socket.address)
    assert notifier.ready("polling 3 feeds\nsecond line")
    message = notify_socket.wait_for("READY")
    # A newline in the status would start a bogus assignment: it must be flattened into the one STATUS line.
    assert message == {"READY": "1", "STATUS": "polling 3 feeds second line"}


def test_abstract_namespace_socket() -> None:
    fake = FakeNotifySocket(abstract_name=f"tocsin-test-{uuid.uuid4().hex}")
    try:
        assert Notifier(fake.address).stopping("stopping")
        assert fake.wait_for("STOPPING") == {"STOPPING": "1", "STATUS": "stopping"}
    finally:
        fake.close()


def test_reloading_carries_the_monotonic_clock(notify_socket: FakeNotifySocket) -> None:
    before = monotonic_usec()
    Notifier(notify_socket.address).reloading()
    message = notify_socket.wait_for("RELOADING")
    assert before <= int(message["MONOTONIC_USEC"]) <= monotonic_usec()


def test_without_notify_socket_nothing_is_sent() -> None:
    notifier = Notifier(None)
    assert not notifier.enabled
    assert not notifier.ready("x")


def test_unreachable_socket_does_not_raise(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifier(str(tmp_path / "nobody-listens"))
    assert not notifier.watchdog()
    assert not notifier.watchdog()
    assert len([r for r in caplog.records if "cannot notify systemd" in r.getMessage()]) == 1


def test_relative_socket_name_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    assert not Notifier("relative/path").enabled
    assert "not a path or abstract socket" in caplog.text


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "20000000"}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": str(os.getpid())}, 10.0),
        ({"WATCHDOG_USEC": "20000000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
    ],
)
def test_watchdog_interval_is_half_the_timeout(environ: dict[str, str], expected: float | None) -> None:
    assert watchdog_interval_s(environ) == expected


async def test_watchdog_pings_from_the_event_loop(notify_socket: FakeNotifySocket) -> None:
    task = asyncio.create_task(run_watchdog(Notifier(notify_socket.address), 0.02))
    await asyncio.sleep(0.15)
    task.cancel()
    pings = [m for m in _drain(notify_socket) if m == {"WATCHDOG": "1"}]
    assert len(pings) >= 3


async def test_blocked_loop_stops_the_pings(notify_socket: FakeNotifySocket) -> None:
    task = asyncio.create_task(run_watchdog(Notifier(notify_socket.address), 0.02))
    await asyncio.sleep(0.05)
    _drain(notify_socket)
    time.sleep(0.2)  # noqa: ASYNC251 - blocking the loop on purpose: that is what the watchdog must notice
    assert _drain(notify_socket) == []
    task.cancel()


async def test_unhealthy_service_withholds_pings(notify_socket: FakeNotifySocket) -> None:
    task = asyncio.create_task(run_watchdog(Notifier(notify_socket.address), 0.02, healthy=lambda: False))
    await asyncio.sleep(0.1)
    task.cancel()
    assert _drain(notify_socket) == []


def _drain(fake: FakeNotifySocket) -> list[dict[str, str]]:
    received = []
    while (message := fake.next_message(0.001)) is not None:
        received.append(message)
    return received


@pytest.mark.parametrize("file_name", ["smtp-password", "tocsin_smtp-password"])
def test_credential_found_under_its_own_name_or_the_units_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, file_name: str
) -> None:
    # LoadCredential=tocsin:/etc/tocsin/credentials turns credentials/smtp-password into tocsin_smtp-password.
    (tmp_path / file_name).write_text("s3cret\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert SecretRef(credential="smtp-password").resolve() == "s3cret"


def test_missing_credential_names_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    with pytest.raises(ConfigError, match="credential smtp-password"):
        SecretRef(credential="smtp-password").resolve()
