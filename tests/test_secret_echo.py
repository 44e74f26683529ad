"""Secrets echoed back by feeds and receivers are never stored, printed or logged.

Real processes against one hostile server on 127.0.0.1 that answers every request it does not serve a feed for
with an error quoting the request: its path and query (a Slack webhook token, `?token=`), and its Authorization
header (a bearer token, the Basic credentials of a feed URL's user:password). Afterwards the database file, the
daemon's log and the output of every command that shows state are searched for each secret.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.test_poll_cli import tocsin

pytestmark = pytest.mark.slow

FEED_PASSWORD = "Pw-5ecret-Alice9"
FEED_KEY = "feedkey0123456789"
SLACK_TOKEN = "xoxbSLACKtoken0123456789ab"
BEARER = "bearer-value-7f3c9e1d"
QUERY_TOKEN = "qtoken-99887766aa"
BASIC = base64.b64encode(f"alice:{FEED_PASSWORD}".encode()).decode()
SECRETS = (FEED_PASSWORD, FEED_KEY, SLACK_TOKEN, BEARER, QUERY_TOKEN, BASIC)

RSS = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://news.example.org/</link>
<item><title>Town shelled overnight</title><link>https://news.example.org/a</link><guid>a</guid>
<description>The town was shelled overnight.</description></item></channel></rss>"""

ECHO_STATUS = {"/private": 401, "/services": 404, "/hook": 503}
"""Path prefix -> the error the server answers with, quoting the request."""


class _EchoHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", "0")))
        self._answer()

    def _answer(self) -> None:
        self.server.seen.append(f"{self.path} {self.headers.get('authorization')}")  # type: ignore[attr-defined]
        if self.path == "/feed":
            status, body, kind = 200, RSS, "application/rss+xml"
        else:
            status = next((code for prefix, code in ECHO_STATUS.items() if self.path.startswith(prefix)), 400)
            body = f"no such thing: {self.path} (you sent {self.headers.get('authorization')})".encode()
            kind = "text/plain"
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def echo_server() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoHandler)
    server.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def write_config(tmp_path: Path, port: int) -> Path:
    base = f"http://127.0.0.1:{port}"
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "shelling.toml").write_text(
        '[[rule]]\nid = "shelling"\ntitle = "Shelling"\nseverity = "high"\ntags = ["strike"]\nany = ["shelled"]\n'
    )
    path = tmp_path / "tocsin.toml"
    path.write_text(f"""state_dir = "{tmp_path / 'state'}"
[rules]
paths = ["{tmp_path / 'rules'}"]
[health]
enabled = false

[[feeds]]
name = "news"
url = "{base}/feed"
backfill = true

[[feeds]]
name = "private"
url = "http://alice:{FEED_PASSWORD}@127.0.0.1:{port}/private/rss?api_key={FEED_KEY}&page=1"

[[delivery.receivers]]
name = "slack"
kind = "webhook"
format = "slack"
url = "{base}/services/T0001/B0002/{SLACK_TOKEN}"
headers = {{ Authorization = "Bearer {BEARER}" }}

[[delivery.receivers]]
name = "hook"
kind = "webhook"
url = "{base}/hook?token={QUERY_TOKEN}"

[delivery.default]
receivers = ["slack", "hook"]
group_wait = "0s"
""")
    return path


def test_no_echoed_secret_is_stored_printed_or_logged(echo_server: ThreadingHTTPServer, tmp_path: Path) -> None:
    config = write_config(tmp_path, echo_server.server_address[1])
    run = tocsin("run", "--once", "--config", str(config), timeout=90)
    assert run.returncode == 75, run.stderr
    # The server did see (and echo) every secret, so the checks below are not vacuous (the feed's password goes
    # out as the Basic credentials).
    seen = "\n".join(echo_server.seen)  # type: ignore[attr-defined]
    for secret in set(SECRETS) - {FEED_PASSWORD}:
        assert secret in seen, secret

    commands = [("feeds",), ("feeds", "--json"), ("alerts", "--dead"), ("alerts", "--dead", "--json"),
                ("alerts", "--pending", "--json"), ("alerts", "--recent", "5", "--json")]
    outputs = {"run --once (the log)": run.stdout + run.stderr}
    for command in commands:
        result = tocsin(*command, "--config", str(config))
        assert result.returncode == 0, result.stderr
        outputs[" ".join(command)] = result.stdout + result.stderr
    for state_file in sorted((tmp_path / "state").iterdir()):
        outputs[state_file.name] = state_file.read_bytes().decode("latin-1")

    leaks = [f"{secret} in {where}" for where, text in outputs.items() for secret in SECRETS if secret in text]
    assert leaks == []
    # What was echoed is still there, masked: the errors say what went wrong.
    (dead,) = json.loads(tocsin("alerts", "--dead", "--json", "--config", str(config)).stdout)
    assert dead["receiver"] == "slack" and dead["last_error"].startswith("HTTP 404")
    assert "/services/T0001/B0002/*** (you sent ***)" in dead["last_error"]
    (pending,) = json.loads(tocsin("alerts", "--pending", "--json", "--config", str(config)).stdout)
    assert pending["receiver"] == "hook" and "token=***" in pending["last_error"]
    health = {row["name"]: row for row in json.loads(tocsin("feeds", "--json", "--config", str(config)).stdout)}
    assert health["private"]["url"].endswith("/private/rss?api_key=***&page=1")
    assert "api_key=***&page=1: HTTP 401" in health["private"]["last_error"]
