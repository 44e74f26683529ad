"""Reload mechanics: all-or-nothing apply, systemd notifications around it, SIGHUP, coalescing, the rule watcher."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.notify_socket import FakeNotifySocket
from tocsin import metrics
from tocsin.config import Settings
from tocsin.errors import ConfigError
from tocsin.matching.rules import RuleSet
from tocsin.rulebook import RuleBook
from tocsin.rulefiles import rule_files as files_to_load
from tocsin.runtime.reload import Reloader, RuleWatcher, rule_files
from tocsin.runtime.systemd import Notifier


class FakeService:
    """Records what was applied; `load` returns the next configured outcome (settings, or the problems)."""

    def __init__(self) -> None:
        self.applied: list[Settings] = []
        self.outcomes: list[Settings | list[str]] = []
        self.loads = 0
        self.load_gate: threading.Event | None = None

    def load(self) -> tuple[Settings, RuleBook]:
        self.loads += 1
        if self.load_gate is not None:
            self.load_gate.wait(5)
        outcome = self.outcomes.pop(0) if self.outcomes else Settings()
        if isinstance(outcome, list):
            raise ConfigError(outcome)
        return outcome, RuleBook(RuleSet())

    def apply(self, settings: Settings, rules: RuleBook) -> None:
        self.applied.append(settings)


def _reloader(service: FakeService, fake: FakeNotifySocket) -> Reloader:
    reloader: Reloader = Reloader(service.load, service.apply, Notifier(fake.address), lambda: "")
    reloader.ready_status = lambda: reloader.last_failure or "running"
    return reloader


def _count(outcome: str) -> float:
    return metrics.REGISTRY.get_sample_value("tocsin_reloads_total", {"outcome": outcome}) or 0.0


async def test_successful_reload_is_announced_and_applied(notify_socket: FakeNotifySocket) -> None:
    service = FakeService()
    new_settings = Settings(state_dir=Path("/somewhere/else"))
    service.outcomes.append(new_settings)
    before = _count("success")
    assert await _reloader(service, notify_socket).reload("test")
    assert service.applied == [new_settings]
    reloading = notify_socket.wait_for("RELOADING")
    assert int(reloading["MONOTONIC_USEC"]) > 0
    assert notify_socket.wait_for("READY")["STATUS"] == "running"
    assert _count("success") == before + 1


async def test_invalid_reload_keeps_the_old_config_and_says_why(
    notify_socket: FakeNotifySocket, caplog: pytest.LogCaptureFixture
) -> None:
    service = FakeService()
    service.outcomes.append(['rules/a.toml:3: rule "x": unknown key "severty"', "config.toml: feeds[0].url: bad"])
    before = _count("failure")
    reloader = _reloader(service, notify_socket)
    assert not await reloader.reload("SIGHUP")
    assert service.applied == []
    errors = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert errors == [
        'reload: rules/a.toml:3: rule "x": unknown key "severty"', "reload: config.toml: feeds[0].url: bad"
    ]
    status = notify_socket.wait_for("READY")["STATUS"]
    assert "reload failed" in status and "2 problem(s)" in status and "severty" in status
    assert _count("failure") == before + 1
    # The same mistakes again are one warning, not the errors once more.
    caplog.clear()
    service.outcomes.append(['rules/a.toml:3: rule "x": unknown key "severty"', "config.toml: feeds[0].url: bad"])
    assert not await reloader.reload("SIGHUP")
    assert [record.levelname for record in caplog.records if record.levelno >= logging.WARNING] == ["WARNING"]
    assert "same 2 problem(s)" in caplog.text
    # The next good reload clears the failure.
    assert await reloader.reload("SIGHUP")
    assert reloader.last_failure is None


async def test_sighup_reloads(notify_socket: FakeNotifySocket) -> None:
    service = FakeService()
    reloader = _reloader(service, notify_socket)
    reloader.start(Settings())
    try:
        os.kill(os.getpid(), signal.SIGHUP)
        # Waiting in a thread: the reload runs on this test's event loop.
        await asyncio.to_thread(notify_socket.wait_for, "READY", timeout_s=5)
        assert len(service.applied) == 1
    finally:
        await reloader.stop()


async def test_requests_during_a_reload_are_coalesced_into_one_more(notify_socket: FakeNotifySocket) -> None:
    service = FakeService()
    service.load_gate = threading.Event()
    reloader = _reloader(service, notify_socket)
    reloader.start(Settings())
    try:
        reloader.request("first")
        await asyncio.sleep(0.05)  # the first reload is now blocked in load()
        for number in range(5):
            reloader.request(f"burst {number}")
        service.load_gate.set()
        for _ in range(2):
            await asyncio.to_thread(notify_socket.wait_for, "READY", timeout_s=5)
        await asyncio.sleep(0.1)
    finally:
        await reloader.stop()
    assert service.loads == 2


def test_rule_files_watches_exactly_what_the_loader_reads_and_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "rules" / "sub").mkdir(parents=True)
    (tmp_path / "rules" / "a.toml").write_text("a")
    (tmp_path / "rules" / "sub" / "b.toml").write_text("b")
    (tmp_path / "rules" / "notes.md").write_text("not a rule file")
    configured = [tmp_path / "rules", tmp_path / "extra.toml"]
    snapshot = rule_files(configured)
    assert set(snapshot) == {tmp_path / "rules" / "a.toml", tmp_path / "extra.toml"}
    assert snapshot[tmp_path / "extra.toml"] is None
    # A file in a subdirectory is not a rule file (the loader does not read it), so editing it reloads nothing.
    assert (tmp_path / "rules" / "sub" / "b.toml") not in files_to_load(configured)[0]


async def test_watcher_reports_edits_new_and_deleted_files(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    first = rules / "first.toml"
    first.write_text("one")
    changes: list[str] = []
    watcher = RuleWatcher(changes.append, interval_s=0.02)
    watcher.configure([rules], enabled=True)
    try:
        await asyncio.sleep(0.06)
        assert changes == []
        first.write_text("one, edited and longer")
        await _until(lambda: len(changes) == 1)
        assert str(first) in changes[0]
        (rules / "second.toml").write_text("two")
        await _until(lambda: len(changes) == 2)
        first.unlink()
        await _until(lambda: len(changes) == 3)
        watcher.configure([rules], enabled=False)
        assert not watcher.running
    finally:
        await watcher.stop()


async def _until(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
