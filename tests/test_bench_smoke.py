"""The benchmark harness works: discovery, the table and its verdicts, the JSON record, the feed farm's mix, the
webhook receiver, child-process accounting, and generated configs and rules that the daemon accepts.

Nothing here times anything; `make bench` produces the figures.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from collections import Counter
from pathlib import Path

import feedparser
import httpx
import pytest

from benchmarks import __main__ as runner
from benchmarks import median_result, meets, percentile, result
from benchmarks.bench_poll import longest_stall_ms
from benchmarks.daemonconfig import DEFAULT_RULES, write_config
from benchmarks.feedfarm import ITEMS_PER_FEED, FeedFarmProcess, behaviour_of, key_of_link
from benchmarks.measure import ChildRun, run_child
from benchmarks.stallprobe import Stalls
from benchmarks.synthrules import write_synthetic_rules
from benchmarks.webhookreceiver import WebhookReceiverProcess
from tocsin.config import load_config
from tocsin.matching.rules import load_rules


def test_runner_finds_every_benchmark_module_and_each_has_run() -> None:
    names = runner.discover()
    assert {"poll", "latency", "memory"} <= set(names)
    for name in names:
        module = __import__(f"benchmarks.bench_{name}", fromlist=["run"])
        assert callable(module.run), name


def test_only_selects_by_either_name_and_rejects_unknown_ones() -> None:
    assert runner.select(["latency", "memory", "poll"], ["bench_poll", "memory"]) == ["memory", "poll"]
    assert runner.select(["latency", "poll"], []) == ["latency", "poll"]
    with pytest.raises(SystemExit, match="no benchmark named nosuch"):
        runner.select(["poll"], ["nosuch"])


def test_targets_are_checked_in_both_directions() -> None:
    assert meets(9.9, "<= 10") is True
    assert meets(10.0, "< 10") is False
    assert meets(2_500, ">= 2,000") is True
    assert meets(float("nan"), "< 100") is False
    assert meets(1.0, None) is None
    assert meets(1.0, "bounded") is None


def test_median_spread_and_nearest_rank_percentile() -> None:
    row = median_result("poll", "cycle wall", [3.0, 1.0, 2.0], "s", "<= 2")
    assert row["value"] == 2.0
    assert row["spread"] == "1..3 (n=3)"
    samples = [float(value) for value in range(1, 101)]
    assert percentile(samples, 0.5) == 50.0
    assert percentile(samples, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0


def test_table_and_json_record_carry_the_same_figures(tmp_path: Path) -> None:
    rows = [
        result("poll", "cycle wall", 12.5, "s", "<= 10", "11..14 (n=3)"),
        result("latency", "p50", 4.2, "ms", "< 20"),
        result("memory", "DB size", 80.0, "MB"),
    ]
    text = runner.table(rows)
    lines = text.splitlines()
    assert lines[0].split() == list(runner.COLUMNS)
    assert "MISS" in lines[2] and "12.5" in lines[2]
    assert lines[3].rstrip().endswith("pass")
    assert lines[4].rstrip().endswith("-")
    path = runner.write_json({"git": "abc1234", "results": rows}, tmp_path)
    assert path.name.endswith("-abc1234.json")
    assert json.loads(path.read_text())["results"] == rows


def test_the_realistic_mix_is_70_20_10() -> None:
    mix = Counter(behaviour_of(index, "realistic") for index in range(5000))
    assert mix == {"not_modified": 3500, "unchanged": 1000, "changed": 500}
    assert {behaviour_of(index, "worst") for index in range(100)} == {"changed"}


def _guids(body: bytes) -> list[str]:
    parsed = feedparser.parse(body)
    return [entry.id for entry in parsed.entries]


def test_feed_farm_answers_each_feed_as_its_behaviour_says() -> None:
    kinds = {behaviour_of(index, "realistic"): index for index in range(20)}
    with FeedFarmProcess(20) as farm, httpx.Client() as client:
        first = {kind: client.get(farm.feed_url(index)) for kind, index in kinds.items()}
        assert all(answer.status_code == 200 for answer in first.values())
        assert len(_guids(first["changed"].content)) == ITEMS_PER_FEED
        assert "etag" not in first["unchanged"].headers

        etag = first["not_modified"].headers["etag"]
        again = client.get(farm.feed_url(kinds["not_modified"]), headers={"If-None-Match": etag})
        assert again.status_code == 304
        same = client.get(farm.feed_url(kinds["unchanged"]))
        assert same.content == first["unchanged"].content
        changed = client.get(farm.feed_url(kinds["changed"]),
                             headers={"If-None-Match": first["changed"].headers["etag"]})
        new_guids = set(_guids(changed.content)) - set(_guids(first["changed"].content))
        assert changed.status_code == 200 and 1 <= len(new_guids) <= 5

        assert farm.counts() == {"first": 3, "not_modified": 1, "unchanged": 1, "changed": 1}
        farm.reset()
        farm.set_mode("worst")
        worst = client.get(farm.feed_url(kinds["not_modified"]), headers={"If-None-Match": etag})
        assert worst.status_code == 200
        assert farm.counts() == {"changed": 1}


def test_latency_mode_records_when_each_crisis_item_left_and_the_receiver_when_it_arrived() -> None:
    with FeedFarmProcess(1, mode="latency") as farm, WebhookReceiverProcess() as receiver, httpx.Client() as client:
        client.get(farm.feed_url(0))
        second = feedparser.parse(client.get(farm.feed_url(0)).content)
        link = second.entries[0].link
        sent = farm.sent_at()
        assert list(sent) == [key_of_link(link)]
        alert = {"id": "a1", "kind": "match",
                 "items": [{"title": "x", "link": link, "feed": "farm-0", "published": None}]}
        request = urllib.request.Request(receiver.url("/hook"), data=json.dumps(alert).encode(), method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 204
        posts, received = receiver.received()
        assert posts == 1 and set(received) == set(sent)


def test_child_accounting_counts_descendants_the_child_did_not_wait_for() -> None:
    # The child starts a grandchild that burns CPU and exits without waiting for it, as multiprocessing's
    # forkserver outlives the daemon; the grandchild's CPU must still be counted.
    burn = "import time\\nend = time.process_time() + 0.3\\nwhile time.process_time() < end: pass"
    code = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', '{burn}'])"
    child = run_child([sys.executable, "-c", code], timeout_s=30)
    assert child.returncode == 0
    assert child.cpu_s >= 0.3


def test_child_memory_is_the_childs_own_not_the_spawners() -> None:
    # The test process itself is far larger than a bare interpreter; ru_maxrss would report at least its size.
    ballast = bytearray(120 * 1024 * 1024)
    ballast[::4096] = b"x" * len(ballast[::4096])
    small = run_child([sys.executable, "-c", "import time; time.sleep(0.3)"], timeout_s=30)
    big = run_child([sys.executable, "-c", "import time; b = bytearray(80 << 20); b[::4096] = b'x' * len(b[::4096]); "
                     "time.sleep(0.3)"], timeout_s=30)
    assert 1 < small.peak_rss_mb < 60
    assert big.peak_rss_mb >= 80
    del ballast


def test_stall_report_is_what_bench_poll_reads() -> None:
    stalls = Stalls()
    for late_ms in (3.0, 62.5, 12.0):
        stalls.record(late_ms)
    line = stalls.report()
    assert line == "longest event-loop stall: 62.5 ms (1 over 50 ms, 2 over 10 ms)"
    assert longest_stall_ms(ChildRun(0, 0, 0, 0, "", f"noise\n{line}\n")) == 62.5


def test_generated_config_and_synthetic_rules_are_accepted_by_the_daemon(tmp_path: Path) -> None:
    rules = write_synthetic_rules(tmp_path / "synthetic", 40)
    config = write_config(tmp_path, ["http://127.0.0.1:1/feed/0.xml", "http://127.0.0.1:1/feed/1.xml"],
                          rule_paths=[DEFAULT_RULES, rules], webhook_url="http://127.0.0.1:1/hook",
                          feed_intervals=["1s", "1100ms"], synchronous="normal")
    settings = load_config(config)
    assert [feed.name for feed in settings.feeds] == ["farm-0", "farm-1"]
    assert settings.delivery.receivers[0].name == "bench"
    loaded = load_rules(settings.rule_paths)
    assert len(loaded) >= 40
