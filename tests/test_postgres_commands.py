"""The commands against a PostgreSQL store that two running instances share: a silence added with `tocsin silence`
holds on both instances at once, and `tocsin feeds` and `tocsin alerts` show the state both wrote."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tomli_w

from tests.conftest import REPO
from tests.daemon_process import DaemonProcess
from tests.servers.feed_server import FeedServer
from tests.servers.webhook_receiver import WebhookReceiver
from tests.test_postgres_instances import add_feeds, items_taken_in, wait_until, write_config

pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'tocsin[postgres]')")

RULES = {name: f'[[rule]]\nid = "{name}"\ntitle = "{name}"\nseverity = "high"\nany = ["{name}"]\n'
         for name in ("storm", "tremor")}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()


WORDS = ["amber", "basalt", "cedar", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kestrel",
         "lagoon", "marble", "nectar", "onyx", "prairie", "quartz", "raven", "sierra", "tundra", "umber", "velvet",
         "willow", "xenon", "yarrow", "zephyr", "acorn", "birch", "canyon", "dune", "estuary", "falcon", "glacier",
         "heron", "island", "jasper", "kelp", "lichen", "meadow", "nimbus", "orchid", "pebble", "quill", "reef"]


def tocsin(config: Path, *args: str) -> Any:
    """A command's JSON output (every listing command has --json)."""
    done = subprocess.run([sys.executable, "-m", "tocsin", *args, "--config", str(config)], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else done.stdout


def sent_rules(hook: WebhookReceiver) -> set[str]:
    return {str(r.json().get("rule")) for r in hook.accepted()}


def test_a_silence_added_on_one_instance_holds_on_all_and_the_commands_read_the_shared_state(
    tmp_path: Path, postgres_url: str, server: FeedServer, receiver: WebhookReceiver
) -> None:
    names = add_feeds(server, 20)  # one "quake near" item each, alerted before the silence
    configs = [write_config(tmp_path, n, postgres_url, server, names, receiver) for n in range(2)]
    for config in configs:
        # Every report its own alert (no re-alert interval): what the silence holds back is countable.
        settings = tomllib.loads(config.read_text(encoding="utf-8"))
        settings["escalation"] = {"realert_interval": "0s"}
        config.write_text(tomli_w.dumps(settings), encoding="utf-8")
    for rule, text in RULES.items():
        (tmp_path / "rules" / f"{rule}.toml").write_text(text, encoding="utf-8")
    daemons = [DaemonProcess(config) for config in configs]
    try:
        for daemon in daemons:  # started (so the schema is in place); slow on a loaded machine
            daemon.wait_for_line(r"health and metrics on", timeout_s=60)
        wait_until(lambda: set(items_taken_in(postgres_url).values()) == {1}, 30, "the first items taken in")
        wait_until(lambda: "quake" in sent_rules(receiver) and tocsin(configs[0], "alerts", "--json") == [], 20,
                   "the quake alerts sent before the silence")
        before = len(receiver.accepted())
        added = tocsin(configs[1], "silence", "add", "--match", "rule=tremor", "--for", "1h")
        silence_id = added.split()[0]
        marks = [len(daemon.lines) for daemon in daemons]
        for number, name in enumerate(names):
            # A tremor and a storm report alike but for the rule, in one poll: where one is alerted, so is the
            # other, unless silenced.
            server.add_items(name, 1, prefix=f"tremor shakes {WORDS[number]} {WORDS[-1 - number]}")
            server.add_items(name, 1, prefix=f"storm floods {WORDS[number]} {WORDS[-1 - number]}")
        wait_until(lambda: set(items_taken_in(postgres_url).values()) == {3}, 30, "the new items taken in")
        wait_until(lambda: tocsin(configs[0], "alerts", "--json") == [], 20, "nothing left to deliver")
        after = receiver.accepted()[before:]
        silences = tocsin(configs[0], "silence", "list", "--json")
        feeds = tocsin(configs[0], "feeds", "--json")
        recent = tocsin(configs[0], "alerts", "--recent", "500", "--json")
    finally:
        codes = [daemon.stop() for daemon in daemons]
        for daemon in daemons:
            print(daemon.output)  # shown when the test fails
    assert codes == [0, 0], "\n".join(daemon.output for daemon in daemons)
    # No tremor alert went out while storm alerts did; the silence held tremor alerts, and both instances decided
    # alerts after the silence was added.
    assert {r.json()["rule"] for r in after} == {"storm"}
    [silence] = silences
    assert silence["id"] == silence_id and silence["suppressed"] > 0 and after
    alerted = re.compile(r", 2 new, [1-9]\d* alert\(s\)")
    for daemon, mark in zip(daemons, marks, strict=True):
        assert any(alerted.search(line) for line in daemon.lines[mark:]), daemon.output
    assert sorted(feed["name"] for feed in feeds) == names
    assert {feed["items_total"] for feed in feeds} == {3}
    delivered = {alert["id"] for alert in recent if any(d["state"] == "delivered" for d in alert["deliveries"])}
    assert {r.headers["webhook-id"] for r in receiver.accepted()} <= delivered
