"""The health listener over real HTTP on 127.0.0.1: /healthz verdicts, /metrics exposition, the loop-lag probe."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tocsin import metrics
from tocsin.config import load_config
from tocsin.config.model import parse_listen
from tocsin.errors import ConfigError
from tocsin.runtime.health import HealthReport, HealthServer, LoopLagProbe

EXPECTED_FAMILIES = {
    "tocsin_polls", "tocsin_fetch_duration_seconds", "tocsin_items", "tocsin_matches", "tocsin_alerts",
    "tocsin_deliveries", "tocsin_outbox_pending", "tocsin_outbox_dead", "tocsin_feeds_failing",
    "tocsin_rules_loaded", "tocsin_reloads", "tocsin_event_loop_lag_seconds",
}


class ReportSource:
    """What the service would report; tests change it between requests."""

    def __init__(self) -> None:
        self.report = HealthReport(
            scheduler_running=True, feeds_enabled=3, failing_feeds=("Broken Feed",), gone_feeds=(),
            outbox_pending=2, outbox_dead=1, rules_loaded=42,
            last_poll_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        )

    def __call__(self) -> HealthReport:
        return self.report


@pytest.fixture
async def served() -> AsyncIterator[tuple[HealthServer, ReportSource, httpx.AsyncClient]]:
    source = ReportSource()
    server = HealthServer("127.0.0.1:0", source, LoopLagProbe(interval_s=0.02, max_lag_s=0.1))
    await server.start()
    host, port = server.address
    async with httpx.AsyncClient(base_url=f"http://{host}:{port}", timeout=5) as client:
        yield server, source, client
    await server.stop()


async def test_healthz_is_ok_with_a_summary(served: tuple[HealthServer, ReportSource, httpx.AsyncClient]) -> None:
    _, _, client = served
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["status"] == "ok"
    assert body["problems"] == []
    assert body["feeds"] == {"enabled": 3, "failing": 1, "failing_names": ["Broken Feed"], "gone": 0,
                             "gone_names": []}
    assert body["outbox"] == {"pending": 2, "dead": 1}
    assert body["rules_loaded"] == 42
    assert body["last_poll_at"] == "2026-01-02T03:04:05Z"


async def test_healthz_503_when_the_scheduler_stopped(
    served: tuple[HealthServer, ReportSource, httpx.AsyncClient],
) -> None:
    _, source, client = served
    source.report = HealthReport(scheduler_running=False)
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["problems"] == ["the scheduler is not running"]


async def test_healthz_503_right_after_the_loop_was_blocked(
    served: tuple[HealthServer, ReportSource, httpx.AsyncClient],
) -> None:
    _, _, client = served
    await asyncio.sleep(0.1)  # let the probe beat a few times
    assert (await client.get("/healthz")).status_code == 200
    time.sleep(0.3)  # noqa: ASYNC251 - a stalled loop is the condition under test
    response = await client.get("/healthz")
    assert response.status_code == 503
    assert "event loop is lagging" in response.json()["problems"][0]
    await asyncio.sleep(0.1)  # recovered: the probe beats on time again
    assert (await client.get("/healthz")).status_code == 200


async def test_metrics_exposition_parses_and_has_every_family(
    served: tuple[HealthServer, ReportSource, httpx.AsyncClient],
) -> None:
    _, _, client = served
    metrics.polls.labels(outcome="changed").inc()
    await asyncio.sleep(0.05)  # a few lag observations
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    assert set(families) >= EXPECTED_FAMILIES
    # State gauges come from the report at scrape time.
    assert _sample(families["tocsin_outbox_pending"]) == 2
    assert _sample(families["tocsin_outbox_dead"]) == 1
    assert _sample(families["tocsin_feeds_failing"]) == 1
    assert _sample(families["tocsin_rules_loaded"]) == 42
    lag_count = [s for s in families["tocsin_event_loop_lag_seconds"].samples if s.name.endswith("_count")]
    assert lag_count[0].value >= 1
    # The process's own CPU, for measuring a cycle between two scrapes (docs/performance.md).
    assert _sample(families["process_cpu_seconds"]) > 0


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)")
async def test_metrics_pass_promtool(served: tuple[HealthServer, ReportSource, httpx.AsyncClient]) -> None:
    _, _, client = served
    metrics.deliveries.labels(receiver="ops", outcome="delivered").inc()
    exposition = (await client.get("/metrics")).content
    checked = await asyncio.to_thread(
        subprocess.run, ["promtool", "check", "metrics"], input=exposition, capture_output=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout + checked.stderr == b""


async def test_other_paths_and_methods(served: tuple[HealthServer, ReportSource, httpx.AsyncClient]) -> None:
    _, _, client = served
    assert (await client.get("/")).status_code == 404
    post = await client.post("/healthz", content=b"x")
    assert post.status_code == 405
    assert post.headers["allow"] == "GET, HEAD"
    head = await client.head("/metrics")
    assert head.status_code == 200
    assert head.content == b""
    assert (await client.get("/healthz?verbose=1")).status_code == 200


async def test_garbage_and_oversized_requests_get_an_error_not_a_crash(
    served: tuple[HealthServer, ReportSource, httpx.AsyncClient],
) -> None:
    server, _, client = served
    host, port = server.address
    for request in (b"NONSENSE\r\n\r\n", b"GET /healthz HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n"):
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(request)
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 5)
        assert status_line.split()[1] in (b"400", b"431")
        writer.close()
    assert (await client.get("/healthz")).status_code == 200


async def test_stop_closes_the_port() -> None:
    server = HealthServer("127.0.0.1:0", ReportSource())
    await server.start()
    host, port = server.address
    await server.stop()
    with pytest.raises(OSError):
        await asyncio.open_connection(host, port)


@pytest.mark.parametrize(
    ("listen", "expected"),
    [("127.0.0.1:9464", ("127.0.0.1", 9464)), ("[::1]:9464", ("::1", 9464)), (":9464", ("0.0.0.0", 9464)),
     ("localhost:0", ("localhost", 0))],
)
def test_parse_listen(listen: str, expected: tuple[str, int]) -> None:
    assert parse_listen(listen) == expected


@pytest.mark.parametrize("listen", ["localhost", "9464", "127.0.0.1", "127.0.0.1:http", "127.0.0.1:70000"])
def test_a_bad_listen_address_is_a_config_error(tmp_path: Path, listen: str) -> None:
    config = tmp_path / "tocsin.toml"
    config.write_text(f'[health]\nlisten = "{listen}"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert any(f'health.listen: "{listen}" is not HOST:PORT' in problem for problem in caught.value.problems)


def _sample(family: object) -> float:
    samples = family.samples  # type: ignore[attr-defined]
    assert len(samples) == 1
    return float(samples[0].value)


def test_report_json_is_serialisable() -> None:
    from tocsin.runtime.health import health_summary

    healthy, body = health_summary(HealthReport(scheduler_running=True), LoopLagProbe())
    assert healthy
    assert json.loads(json.dumps(body))["last_poll_at"] is None
