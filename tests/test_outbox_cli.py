"""`tocsin alerts` and `tocsin send-test` on a real state database and a real webhook receiver."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import jsonschema
import pytest

from tests.alert_factory import make_alert, schema, setup, webhook_config_file
from tests.servers.webhook_receiver import Answer, WebhookReceiver
from tocsin.cli import main
from tocsin.config import load_config

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def write_config(tmp_path: Path, url: str) -> Path:
    return webhook_config_file(tmp_path, url, SECRET)


@pytest.fixture
def receiver() -> WebhookReceiver:
    with WebhookReceiver(secret=SECRET) as running:
        yield running


def queue_and_fail(path: Path, receiver: WebhookReceiver) -> None:
    """Two alerts decided: the first delivered, the second refused with 410 (dead)."""
    settings = load_config(path)
    s = setup(path.parent, settings.delivery)  # the same database as state_dir in the config
    assert s.db.path == settings.database_path
    receiver.then(Answer(204), Answer(410, body=b"gone for good"))
    s.enqueue(make_alert(1))
    s.enqueue(make_alert(2))

    async def deliver() -> None:
        await s.worker.drain(timeout_s=10)
        await s.worker.close()

    asyncio.run(deliver())
    s.db.close()


def test_send_test_delivers_a_test_alert(tmp_path: Path, receiver: WebhookReceiver,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, receiver.url)
    assert main(["send-test", "--config", str(path), "hook"]) == 0
    assert "delivered to hook" in capsys.readouterr().out
    (request,) = receiver.requests
    assert request.verified
    body = request.json()
    jsonschema.validate(body, schema(), cls=jsonschema.Draft202012Validator)
    assert body["kind"] == "test"
    assert main(["alerts", "--config", str(path), "--recent", "5", "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["id"] == body["id"] and listed["deliveries"][0]["state"] == "delivered"


def test_send_test_reports_failure(tmp_path: Path, receiver: WebhookReceiver,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, receiver.url)
    receiver.then(Answer(401, body=b"bad token"))
    assert main(["send-test", "--config", str(path), "hook"]) == 1
    assert "refused: HTTP 401 Unauthorized: bad token" in capsys.readouterr().err
    assert main(["send-test", "--config", str(path), "nobody"]) == 1
    assert 'no receiver named "nobody" (known: hook)' in capsys.readouterr().err
    stopped = WebhookReceiver()
    path = write_config(tmp_path, stopped.url)
    assert main(["send-test", "--config", str(path), "hook"]) == 1
    assert "failed: ConnectError" in capsys.readouterr().err
    # Neither failure left a dead letter (or anything else) in the outbox.
    assert main(["alerts", "--config", str(path), "--dead", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    assert main(["alerts", "--config", str(path), "--recent", "5", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_list_and_retry(tmp_path: Path, receiver: WebhookReceiver, capsys: pytest.CaptureFixture[str]) -> None:
    # One send at a time: the receiver's answers are scripted in order, and two sends in flight may arrive in
    # either order (which made this test fail now and then on a loaded machine).
    path = webhook_config_file(tmp_path, receiver.url, SECRET, extra="[delivery]\nper_receiver = 1")
    queue_and_fail(path, receiver)
    assert main(["alerts", "--config", str(path), "--dead", "--json"]) == 0
    (dead,) = json.loads(capsys.readouterr().out)
    assert dead["alert_ids"] == [make_alert(2).id] and "410" in dead["last_error"]
    assert dead["title"] == make_alert(2).title
    assert main(["alerts", "--config", str(path), "--dead"]) == 0
    table = capsys.readouterr().out
    assert "gone for good" in table and "0 pending, 1 dead, 1 delivered" in table
    assert main(["alerts", "--config", str(path), "--recent", "10"]) == 0
    recent = capsys.readouterr().out
    assert "hook:dead" in recent and "hook:delivered" in recent

    assert main(["alerts", "--config", str(path), "retry", "999"]) == 1
    assert "no delivery or alert '999'" in capsys.readouterr().err
    assert main(["alerts", "retry", "--config", str(path), make_alert(2).id]) == 0
    assert "requeued 1 delivery" in capsys.readouterr().out
    assert main(["alerts", "--config", str(path), "--json"]) == 0
    (pending,) = json.loads(capsys.readouterr().out)
    assert pending["id"] == dead["id"] and pending["state"] == "pending"
    assert main(["alerts", "--config", str(path), "retry", "--dead"]) == 0
    assert "requeued 0 deliveries" in capsys.readouterr().out
