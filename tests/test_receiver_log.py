"""The receiver-health lines: one when a receiver starts failing, a summary per period while it stays down, one
when it recovers (the worker logs them; the process test is in test_systemd_run.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tocsin.deliver.receiver_log import ReceiverHealth

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)


def test_one_line_per_state_change_and_a_summary_per_period() -> None:
    health = ReceiverHealth(summary_every=timedelta(minutes=10))
    lines = []
    for second in range(0, 25 * 60, 20):  # an attempt every 20 s for 25 minutes
        now = START + timedelta(seconds=second)
        lines.append(health.failed("hook", "connection refused", now) or health.summary("hook", now))
    said = [line for line in lines if line]
    assert len(said) == 3, said
    assert said[0].startswith("receiver hook is failing: connection refused")
    assert said[1] == "receiver hook still failing for 10m: 31 failed attempt(s), last: connection refused"
    assert said[2].startswith("receiver hook still failing for 20m: 61 failed attempt(s)")
    assert health.summary("other", START + timedelta(hours=1)) is None
    recovered = health.delivered("hook", START + timedelta(minutes=25))
    assert recovered == "receiver hook recovered after 75 failed attempt(s) over 25m"
    assert health.delivered("hook", START + timedelta(minutes=26)) is None
    # Failing again after a recovery is a new state change, said again.
    assert health.failed("hook", "HTTP 503", START + timedelta(minutes=30)) is not None
