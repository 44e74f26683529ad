"""What `tocsin run --once` does not do at start-up (#19): import what its cycle does not use, and collect
garbage among the objects it keeps for its whole life. Speed itself is shown by bench_startup, not here."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from tests.matching_support import DEFAULT_RULES
from tocsin.cli.common import collector_paused

NOT_NEEDED = ("httpx", "h11", "apscheduler", "feedparser", "pydantic_settings", "aiosmtplib",
              "tocsin.runtime.operations", "tocsin.runtime.health", "tocsin.deliver.registry", "tocsin.parse.document")
"""Modules a cycle with nothing to fetch or deliver, and no TOCSIN_* override, has no use for."""

PROBE = """
import json, runpy, sys
sys.argv = ["tocsin", *sys.argv[1:]]
try:
    runpy.run_module("tocsin", run_name="__main__")
except SystemExit as exit:
    print(json.dumps({"status": exit.code, "modules": sorted(sys.modules)}))
"""


def _run_once(tmp_path: Path, extra_env: dict[str, str]) -> dict[str, object]:
    config = tmp_path / "tocsin.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[rules]\npaths = ["{DEFAULT_RULES}"]\n')
    environment = {name: value for name, value in os.environ.items() if not name.upper().startswith("TOCSIN_")}
    done = subprocess.run([sys.executable, "-c", PROBE, "run", "--once", "--config", str(config)],
                          env={**environment, **extra_env}, capture_output=True, text=True, timeout=120, check=True)
    found: dict[str, object] = json.loads(done.stdout.splitlines()[-1])
    return found


def test_run_once_without_feeds_imports_only_what_its_cycle_uses(tmp_path: Path) -> None:
    found = _run_once(tmp_path, {})
    assert found["status"] == 0
    modules = set(found["modules"])  # type: ignore[call-overload]
    assert "tocsin.runtime.service" in modules and "tocsin.rulecache" in modules, "the probe ran the daemon"
    assert sorted(modules & set(NOT_NEEDED)) == []


def test_an_override_brings_pydantic_settings_in(tmp_path: Path) -> None:
    found = _run_once(tmp_path, {"TOCSIN_POLLING__INTERVAL": "5m"})
    assert found["status"] == 0
    assert "pydantic_settings" in found["modules"]  # type: ignore[operator]


def test_the_collector_pauses_and_freezes_only_for_a_whole_process() -> None:
    frozen = gc.get_freeze_count()
    with collector_paused(whole_process=False):
        assert gc.isenabled()
    assert gc.get_freeze_count() == frozen
    try:
        with collector_paused(whole_process=True):
            assert not gc.isenabled()
            kept = [[index] for index in range(1000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= frozen + len(kept)
    finally:
        gc.unfreeze()  # the rest of this test process must be collected as before
