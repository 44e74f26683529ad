"""One `tocsin run` per state directory: a second one (daemon or --once) is refused with the holder's pid."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.test_poll import RecordingRules, make_settings
from tests.test_poll_cli import tocsin, write_config
from tocsin.errors import StoreError
from tocsin.rulebook import RuleBook
from tocsin.runtime.service import Service
from tocsin.store.lock import lock_state_dir


async def test_a_second_service_on_one_state_dir_is_refused_until_the_first_stops(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "state", [])
    first = Service(settings, RuleBook(RecordingRules()), parse_in_processes=False)
    await first.start()
    try:
        second = Service(settings, RuleBook(RecordingRules()), parse_in_processes=False)
        with pytest.raises(StoreError, match=rf"another tocsin run \(pid {os.getpid()}\) is using this state"):
            await second.start()
    finally:
        await first.stop(1)
    third = Service(settings, RuleBook(RecordingRules()), parse_in_processes=False)
    await third.start()
    await third.stop(1)


def test_run_once_beside_a_running_daemon_exits_with_a_clear_error(tmp_path: Path) -> None:
    config = write_config(tmp_path, {})
    held = lock_state_dir(tmp_path / "state")
    try:
        refused = tocsin("run", "--once", "--config", str(config))
    finally:
        held.release()
    assert refused.returncode == 1
    assert f"another tocsin run (pid {os.getpid()})" in refused.stderr
    assert tocsin("run", "--once", "--config", str(config)).returncode == 0
