"""`tocsin run --once`, `tocsin run` and `tocsin feeds` as processes, against the local feed server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.servers.feed_server import FeedServer

pytestmark = pytest.mark.slow


def write_config(tmp_path: Path, feeds: dict[str, str], extra: str = "") -> Path:
    (tmp_path / "rules").mkdir(exist_ok=True)
    lines = [
        f'state_dir = "{tmp_path / "state"}"',
        "[polling]", 'interval = "1s"', 'jitter = "0s"',
        "[http]", 'connect_timeout = "2s"', 'read_timeout = "1s"', 'total_timeout = "5s"', 'max_body_size = "256KiB"',
        "[rules]", f'paths = ["{tmp_path / "rules"}"]',
        "[health]", "enabled = false",
        extra,
    ]
    for name, url in feeds.items():
        lines += ["[[feeds]]", f'name = "{name}"', f'url = "{url}"']
    path = tmp_path / "tocsin.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def tocsin(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("TOCSIN_CONFIG", None)
    return subprocess.run([sys.executable, "-m", "tocsin", *args], capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)


def feed_health(config: Path) -> dict[str, dict[str, Any]]:
    result = tocsin("feeds", "--config", str(config), "--json")
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_run_once_covers_every_server_behaviour(server: FeedServer, tmp_path: Path) -> None:
    server.add_feed("news", 4)
    routes = {
        "news": "/feed/news", "lastmod": "/lastmod/news", "gzipped": "/gzip/news", "moved": "/redirect/news",
        "limited": "/status/429", "broken": "/status/500", "slow": "/slow", "huge": "/big", "loop": "/loop",
        "page": "/html", "bomb": "/bomb", "gone": "/status/410",
    }
    config = write_config(tmp_path, {name: server.url(path) for name, path in routes.items()})
    result = tocsin("run", "--once", "--config", str(config))
    # It ran to the end, but feeds failed: cron's distinct "temporary failure", not success.
    assert result.returncode == 75, result.stderr
    assert "8 feed(s) failed" in result.stderr
    health = feed_health(config)
    for name in ("news", "lastmod", "gzipped", "moved"):
        assert health[name]["health"] == "ok", health[name]
    assert health["limited"]["last_status"] == 429 and "retry after 120s" in health["limited"]["last_error"]
    assert health["broken"]["last_status"] == 500
    assert "read_timeout" in health["slow"]["last_error"]
    assert "max_body_size" in health["huge"]["last_error"]
    assert "redirect loop" in health["loop"]["last_error"]
    assert "HTML page" in health["page"]["last_error"]
    assert "refused" in health["bomb"]["last_error"]
    assert health["gone"]["health"] == "gone"
    # The same article under four feed names is one article: only the first feed to see it counted it new.
    assert sum(health[name]["items_total"] for name in ("news", "lastmod", "gzipped", "moved")) == 4
    assert "polled 12 feed(s): 4 changed, 0 not modified, 0 unchanged, 8 failed; 4 new item(s), 0 alert(s)" \
        in result.stderr

    table = tocsin("feeds", "--config", str(config))
    assert table.returncode == 0
    assert "gone" in table.stdout and "HTTP 500" in table.stdout


def test_restart_keeps_seen_items_and_validators(server: FeedServer, tmp_path: Path) -> None:
    server.add_feed("a", 5)
    config = write_config(tmp_path, {"a": server.url("/feed/a"), "b": server.url("/plain/a")})
    assert tocsin("run", "--once", "--config", str(config)).returncode == 0
    first = feed_health(config)
    assert first["a"]["items_total"] + first["b"]["items_total"] == 5

    assert tocsin("run", "--once", "--config", str(config)).returncode == 0
    sent = server.requests_to("/feed/a")[-1]
    assert sent["if-none-match"] == first["a"]["etag"]
    assert feed_health(config)["a"]["last_status"] == 304

    server.add_items("a", 2, prefix="after-restart")
    assert tocsin("run", "--once", "--config", str(config)).returncode == 0
    after = feed_health(config)
    # Only the two new articles are new; the five seen before the restarts are not passed on again.
    assert after["a"]["items_total"] + after["b"]["items_total"] == 7


def test_invalid_config_exits_78_listing_every_problem(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[polling]\ninterval = "5 minutes"\n[[feeds]]\nname = "x"\nurl = "ftp://example.org/"\n')
    for command in ("run", "feeds"):
        result = tocsin(command, "--config", str(config))
        assert result.returncode == 78, command
        assert "polling.interval" in result.stderr and "feeds[0].url" in result.stderr


def test_sigterm_stops_the_daemon_cleanly(server: FeedServer, tmp_path: Path) -> None:
    server.add_feed("live", 1)
    config = write_config(tmp_path, {"live": server.url("/feed/live")})
    process = subprocess.Popen(
        [sys.executable, "-m", "tocsin", "run", "--config", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while len(server.requests_to("/feed/live")) < 2:
            assert process.poll() is None, process.communicate()[1]
            assert time.monotonic() < deadline, "the daemon never polled twice"
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "stopping" in stderr
    assert feed_health(config)["live"]["health"] == "ok"
