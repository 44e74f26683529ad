"""What the daemon says about its polls, through real processes: one summary line per cycle, one plain line when
no feed at all could be reached, and at start the time of the next poll when every feed is backing off."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.daemon_process import DaemonProcess
from tests.servers.feed_server import FeedServer, running_server
from tests.test_poll_cli import tocsin, write_config

pytestmark = pytest.mark.slow


@pytest.fixture
def server() -> Iterator[FeedServer]:
    yield from running_server()


def closed_port() -> int:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        return int(unused.getsockname()[1])


def test_no_feed_reachable_is_one_plain_line_and_a_restart_says_when_polls_resume(tmp_path: Path) -> None:
    port = closed_port()
    feeds = {f"wire-{n}": f"http://127.0.0.1:{port}/feed/{n}" for n in range(5)}
    config = write_config(tmp_path, feeds)
    config.write_text(config.read_text().replace('interval = "1s"', 'interval = "10m"'))
    result = tocsin("run", "--once", "--config", str(config))
    assert result.returncode == 75, result.stderr
    outage = [line for line in result.stderr.splitlines() if "reachable" in line]
    assert len(outage) == 1, result.stderr
    assert "0 of 5 feed(s) reachable: network or DNS down?" in outage[0] and "WARNING" in outage[0]
    assert "5 failed; 0 new item(s), 0 alert(s)" in outage[0]

    # Restarted within the stored backoff: one line says when the polls come, instead of ten minutes of silence.
    with DaemonProcess(config) as daemon:
        line = daemon.wait_for_line(r"every feed is backing off after failures: next poll at (\S+) \(in (\d+) min")
        assert 5 <= int(line.group(2)) <= 10
        assert daemon.stop() == 0


def test_a_cycle_is_summed_up_in_one_line(server: FeedServer, tmp_path: Path) -> None:
    server.add_feed("news", 3)
    config = write_config(tmp_path, {"news": server.url("/feed/news"), "broken": server.url("/status/500")})
    with DaemonProcess(config) as daemon:
        # The 1 s interval makes each second a cycle: the first sums up the first polls of both feeds.
        line = daemon.wait_for_line(r"INFO .*polled (\d+) feed\(s\): (\d+) changed, .* (\d+) failed; "
                                    r"(\d+) new item\(s\), 0 alert\(s\)", timeout_s=20)
        assert daemon.stop() == 0
    polled, changed, failed, _ = (int(group) for group in line.groups())
    assert failed >= 1 and polled >= 2 and changed <= 1
    # Summaries, not a line per poll: fewer summary lines than polls.
    summaries = [text for text in daemon.lines if "polled " in text and " feed(s): " in text]
    assert 1 <= len(summaries) <= 10
