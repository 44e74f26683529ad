"""End to end: `tocsin run --once` polls a real feed, the default rule pack fires, and the alert reaches a real
webhook receiver, signed, valid against docs/alert.schema.json, and listed by `tocsin alerts --recent`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from email.utils import formatdate
from pathlib import Path

import jsonschema
import pytest

from tests.alert_factory import schema, webhook_config_file
from tests.conftest import REPO
from tests.servers.feed_server import FeedItem, FeedServer
from tests.servers.webhook_receiver import WebhookReceiver

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def tocsin(*args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("TOCSIN_", "STATE_DIRECTORY"))}
    return subprocess.run([sys.executable, "-m", "tocsin", *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)


def one_shootdown_feed(feeds: FeedServer) -> str:
    """The extra config for one feed whose one article fires the default pack's shootdown rule."""
    feed = feeds.add_feed("world")
    feed.items.append(FeedItem(
        guid="heli-1", title="Syrian army helicopter shot down over Idlib",
        link="https://news.example.org/idlib/heli-1",
        description="A Syrian army helicopter was shot down by rebels over Idlib province, a war monitor said.",
        pub_date=formatdate(usegmt=True),
    ))
    return f"""
[rules]
paths = ["{REPO / 'rules'}"]
[[feeds]]
name = "world"
url = "{feeds.url('/feed/world')}"
backfill = true
"""


@pytest.mark.slow
def test_run_once_exits_75_when_an_alert_stays_undelivered(tmp_path: Path) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        closed_port = unused.getsockname()[1]
    feeds = FeedServer().start()
    try:
        extra = '[http]\ntotal_timeout = "3s"\n' + one_shootdown_feed(feeds)
        config = webhook_config_file(tmp_path, f"http://127.0.0.1:{closed_port}/hook", SECRET, extra)
        result = tocsin("run", "--once", "--config", str(config))
    finally:
        feeds.close()
    assert result.returncode == 75, result.stderr
    assert "0 feed(s) failed" in result.stderr and "still pending" in result.stderr


@pytest.mark.slow
def test_run_once_delivers_a_signed_schema_valid_alert(tmp_path: Path) -> None:
    feeds = FeedServer().start()
    try:
        extra = one_shootdown_feed(feeds)
        with WebhookReceiver(secret=SECRET) as receiver:
            config = webhook_config_file(tmp_path, receiver.url, SECRET, extra)
            result = tocsin("run", "--once", "--config", str(config))
            assert result.returncode == 0, result.stderr
            accepted = receiver.accepted()
    finally:
        feeds.close()
    assert accepted, f"no alert arrived; stderr:\n{result.stderr}"
    assert all(request.verified for request in accepted)
    bodies = [request.json() for request in accepted]
    for body in bodies:
        jsonschema.validate(body, schema(), cls=jsonschema.Draft202012Validator)
    shootdown = [body for body in bodies if "shootdown" in body["tags"]]
    assert shootdown, [body["tags"] for body in bodies]
    assert shootdown[0]["items"][0]["link"] == "https://news.example.org/idlib/heli-1"
    listed = tocsin("alerts", "--config", str(config), "--recent", "10", "--json")
    assert listed.returncode == 0, listed.stderr
    recent = json.loads(listed.stdout)
    assert {alert["id"] for alert in recent} >= {body["id"] for body in bodies}
    assert all(d["state"] == "delivered" for alert in recent for d in alert["deliveries"])
