"""`tocsin store migrate --to postgresql://...`: an SQLite state that a daemon wrote, moved into PostgreSQL; the
commands read the same state from both, and a daemon on PostgreSQL carries on without alerting anything again."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.servers.feed_server import FeedServer
from tests.servers.webhook_receiver import WebhookReceiver

psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'tocsin[postgres]')")

RULE = '[[rule]]\nid = "quake"\ntitle = "Quake"\nseverity = "high"\nany = ["quake"]\n'


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()


def tocsin(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tocsin", *args, "--config", str(config)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False)


def write_config(tmp_path: Path, name: str, server: FeedServer, receiver: WebhookReceiver, store: str = "") -> Path:
    rules = tmp_path / "rules"
    rules.mkdir(exist_ok=True)
    (rules / "quake.toml").write_text(RULE, encoding="utf-8")
    feeds = "".join(f'[[feeds]]\nname = "{feed}"\nurl = "{server.url("/feed/" + feed)}"\nbackfill = true\n'
                    for feed in ("a", "b"))
    config = tmp_path / name
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n[polling]\ninterval = "1s"\njitter = "0s"\n'
        f'[rules]\npaths = ["{rules}"]\n'
        f'[delivery]\nreceivers = [{{ name = "hook", kind = "webhook", url = "{receiver.url}" }}]\n'
        f'default = {{ receivers = ["hook"] }}\n{store}\n{feeds}', encoding="utf-8")
    return config


def row_counts_sqlite(path: Path) -> dict[str, int]:
    with sqlite3.connect(path) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}


def row_counts_postgres(url: str, tables: list[str]) -> dict[str, int]:
    with psycopg.connect(url) as connection:
        return {table: int(connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]) for table in tables}


def test_an_sqlite_state_moves_into_postgresql_and_the_daemon_carries_on(
    tmp_path: Path, postgres_url: str, server: FeedServer, receiver: WebhookReceiver
) -> None:
    server.add_feed("a")
    server.add_items("a", 3, prefix="quake near")
    server.add_feed("b", 2)
    sqlite_config = write_config(tmp_path, "sqlite.toml", server, receiver)
    assert (ran := tocsin(sqlite_config, "run", "--once")).returncode == 0, ran.stderr
    assert tocsin(sqlite_config, "silence", "add", "--match", "rule=other", "--for", "1h").returncode == 0
    sent_before = len(receiver.accepted())
    assert sent_before > 0
    before = row_counts_sqlite(tmp_path / "state" / "tocsin.sqlite3")
    recent_before = json.loads(tocsin(sqlite_config, "alerts", "--recent", "50", "--json").stdout)

    moved = tocsin(sqlite_config, "store", "migrate", "--to", postgres_url)
    assert moved.returncode == 0, moved.stderr
    assert "set store.url" in moved.stdout

    copied = [table for table, rows in before.items() if rows and table != "sqlite_stat1"]
    assert {"feed_state", "seen_items", "stories", "alerts", "deliveries", "silences"} <= set(copied)
    assert row_counts_postgres(postgres_url, copied) == {table: before[table] for table in copied}
    pg_config = write_config(tmp_path, "pg.toml", server, receiver, store=f'[store]\nurl = "{postgres_url}"\n')
    recent_after = json.loads(tocsin(pg_config, "alerts", "--recent", "50", "--json").stdout)
    assert recent_after == recent_before
    feeds = {feed["name"]: feed["items_total"] for feed in json.loads(tocsin(pg_config, "feeds", "--json").stdout)}
    assert feeds == {"a": 3, "b": 2}
    assert len(json.loads(tocsin(pg_config, "silence", "list", "--json").stdout)) == 1

    # The daemon on PostgreSQL knows every item: nothing is alerted again; a new report joins the story it
    # belongs to (the story index was rebuilt from the copied stories) and is alerted only by a rule not yet fired.
    server.add_items("b", 1, prefix="fresh")
    assert (ran := tocsin(pg_config, "run", "--once")).returncode == 0, ran.stderr
    assert len(receiver.accepted()) == sent_before
    with psycopg.connect(postgres_url) as connection:
        assert connection.execute("SELECT count(*) FROM story_postings").fetchone()[0] > 0
        assert connection.execute("SELECT items_total FROM feed_state WHERE name = 'b'").fetchone()[0] == 3
        # New rows continue the copied ones' numbering.
        assert connection.execute("SELECT count(DISTINCT rowid) = count(*) FROM stories").fetchone()[0]

    again = tocsin(sqlite_config, "store", "migrate", "--to", postgres_url)
    assert again.returncode == 1 and "already holds a tocsin state" in again.stderr
    secret = tocsin(sqlite_config, "store", "migrate", "--to", "postgresql://tocsin:s3cret@127.0.0.1/x")
    assert secret.returncode == 78 and "holds a password" in secret.stderr and "s3cret" not in secret.stderr
