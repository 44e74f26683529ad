"""ntfy, Telegram, Matrix, Teams and PagerDuty receivers through the real outbox, each against a loopback server
that checks requests as the service does and answers with its real success and error shapes."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.alert_factory import T0, Setup, config, make_alert, setup
from tests.servers import services
from tocsin.alerts import Alert
from tocsin.errors import ConfigError
from tocsin.store.outbox import Delivery

TOKEN = "123456:AAE-s3cr3t-bot-token"
HOSTILE = "Troops & <b>tanks</b> <script>x</script> @room @everyone"
ONE_GROUP = {"group_wait": "30s", "group_by": ["rule"]}


def token_file(tmp_path: Path, value: str = TOKEN) -> dict[str, str]:
    path = tmp_path / "token"
    path.write_text(value + "\n")
    return {"file": str(path)}


def only(s: Setup) -> Delivery:
    (delivery,) = s.worker.store.listing(None, 10)
    return delivery


def escalation(situation: str, level: str, previous: str, at_minutes: int, severity: str = "high") -> Alert:
    from tocsin.severity import Severity
    return Alert(id=Alert.make_id("esc", situation, level, str(at_minutes)), kind="escalation",
                 severity=Severity(severity), title=f"Idlib: escalation level {level}", summary="Idlib rose.",
                 created=T0 + timedelta(minutes=at_minutes), rule="repeated-shootdown", places=("Idlib",),
                 situation=situation, extra={"level": level, "previous_level": previous})


# -- Telegram


def telegram(server: services.ServiceServer, tmp_path: Path, chat_id: Any = -1001) -> dict[str, Any]:
    return {"name": "tg", "kind": "telegram", "token": token_file(tmp_path), "chat_id": chat_id,
            "api_url": server.url}


async def test_telegram_html_escapes_feed_text_and_keeps_links(tmp_path: Path) -> None:
    with services.telegram(TOKEN, {-1001}) as server:
        s = setup(tmp_path, config([telegram(server, tmp_path)]))
        s.enqueue(make_alert(1, title=HOSTILE, link="https://news.example.org/a b?x=1&y=2"))
        assert await s.worker.drain(timeout_s=10) == 0
        (request,) = server.accepted()
        text = request.body["text"]
        assert "Troops &amp; &lt;b&gt;tanks&lt;/b&gt; &lt;script&gt;" in text
        assert '<a href="https://news.example.org/a%20b?x=1&amp;y=2">' in text
        await s.worker.close()


async def test_telegram_truncates_a_huge_group_to_4096(tmp_path: Path) -> None:
    with services.telegram(TOKEN, {-1001}) as server:
        s = setup(tmp_path, config([telegram(server, tmp_path)], grouping=ONE_GROUP))
        s.enqueue(*(make_alert(n, title="&" * 190) for n in range(40)))
        assert await s.worker.drain(timeout_s=10) == 0
        (request,) = server.accepted()
        assert len(request.body["text"]) <= 4096 and "shortened to fit; 40 alert(s)" in request.body["text"]
        await s.worker.close()


@pytest.mark.parametrize(("chat_id", "token", "expected"), [
    (-999, TOKEN, "chat not found"), (-1001, "123456:revoked", "Unauthorized")])
async def test_telegram_permanent_errors_are_dead_letters(tmp_path: Path, chat_id: int, token: str,
                                                          expected: str) -> None:
    with services.telegram(token, {-1001}) as server:
        s = setup(tmp_path, config([telegram(server, tmp_path, chat_id)]))
        s.enqueue(make_alert(1))
        await s.worker.drain(timeout_s=10)
        delivery = only(s)
        assert delivery.state == "dead" and expected in (delivery.last_error or "")
        assert TOKEN not in (delivery.last_error or "")
        await s.worker.close()


async def test_telegram_429_waits_the_retry_after_it_gives(tmp_path: Path) -> None:
    with services.telegram(TOKEN, {-1001}) as server:
        server.then((429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 90",
                           "parameters": {"retry_after": 90}}, {}))
        s = setup(tmp_path, config([telegram(server, tmp_path)]))
        s.enqueue(make_alert(1))
        await s.worker.drain(timeout_s=10)
        delivery = only(s)
        assert delivery.state == "pending" and delivery.next_attempt_at >= T0 + timedelta(seconds=90)
        assert "Too Many Requests" in (delivery.last_error or "")
        s.clock.advance(timedelta(seconds=91))
        assert await s.worker.drain(timeout_s=10) == 0
        assert [r.status for r in server.requests] == [429, 200]
        await s.worker.close()


async def test_a_down_telegram_never_shows_the_token(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    server = services.telegram(TOKEN, {-1001})  # never started
    s = setup(tmp_path, config([telegram(server, tmp_path)]))
    s.enqueue(make_alert(1))
    with caplog.at_level(logging.DEBUG):
        await s.worker.drain(timeout_s=10)
    delivery = only(s)
    assert delivery.state == "pending" and delivery.last_error
    assert "s3cr3t" not in delivery.last_error
    assert not any("s3cr3t" in record.getMessage() for record in caplog.records)
    await s.worker.close()


def test_tokens_are_never_inline() -> None:
    with pytest.raises(ValueError, match="from a file, a systemd credential or an environment variable"):
        config([{"name": "tg", "kind": "telegram", "token": {"value": TOKEN}, "chat_id": 1}])


# -- ntfy


async def test_ntfy_publishes_title_priority_tags_and_click(tmp_path: Path) -> None:
    with services.ntfy("tk_s3cr3t", "desk-alerts") as server:
        s = setup(tmp_path, config([{"name": "push", "kind": "ntfy", "url": server.url, "topic": "desk-alerts",
                                     "token": token_file(tmp_path, "tk_s3cr3t")}]))
        s.enqueue(make_alert(1, link="https://news.example.org/idlib/1"))
        assert await s.worker.drain(timeout_s=10) == 0
        (request,) = server.accepted()
        assert request.body["priority"] == 4 and request.body["tags"] == ["shootdown"]
        assert request.body["title"].startswith("HIGH: Shootdown")
        assert request.body["click"] == "https://news.example.org/idlib/1"
        await s.worker.close()


async def test_ntfy_keeps_a_huge_group_within_4096_bytes(tmp_path: Path) -> None:
    with services.ntfy(None, "t") as server:
        s = setup(tmp_path, config([{"name": "push", "kind": "ntfy", "url": server.url, "topic": "t"}],
                                   grouping=ONE_GROUP))
        s.enqueue(*(make_alert(n, title="Ж" * 190) for n in range(40)))
        assert await s.worker.drain(timeout_s=10) == 0 and s.worker.dead() == 0
        assert len(server.accepted()[0].body["message"].encode()) <= 4096
        await s.worker.close()


async def test_ntfy_refused_token_is_a_dead_letter(tmp_path: Path) -> None:
    with services.ntfy("tk_right", "t") as server:
        s = setup(tmp_path, config([{"name": "push", "kind": "ntfy", "url": server.url, "topic": "t",
                                     "token": token_file(tmp_path, "tk_wrong")}]))
        s.enqueue(make_alert(1))
        await s.worker.drain(timeout_s=10)
        assert only(s).state == "dead" and "unauthorized" in (only(s).last_error or "")
        await s.worker.close()


# -- Matrix

ROOM = "!desk:example.org"


def matrix(server: services.ServiceServer, tmp_path: Path) -> dict[str, Any]:
    return {"name": "mx", "kind": "matrix", "homeserver": server.url, "room": ROOM,
            "access_token": token_file(tmp_path, "syt_s3cr3t")}


async def test_matrix_retries_reuse_the_transaction_id(tmp_path: Path) -> None:
    with services.matrix("syt_s3cr3t", ROOM) as server:
        server.then((502, {"errcode": "M_UNKNOWN", "error": "gateway"}, {}))
        s = setup(tmp_path, config([matrix(server, tmp_path)]))
        s.enqueue(make_alert(1, title=HOSTILE))
        await s.drain_until_settled()
        assert [r.status for r in server.requests] == [502, 200]
        assert {r.path.rsplit("/", 1)[1] for r in server.requests} == {make_alert(1).id}
        body = server.requests[-1].body
        assert body["msgtype"] == "m.notice" and body["m.mentions"] == {}
        assert "&lt;script&gt;" in body["formatted_body"] and "<script>" in body["body"]
        # The homeserver dedupes on the transaction id: sending the same alert again is the same event.
        with s.db.transaction():
            s.worker.store.requeue([only(s).id], s.clock.now())
        await s.worker.drain(timeout_s=10)
        assert len(server.events) == 1  # type: ignore[attr-defined]
        await s.worker.close()


async def test_matrix_rate_limit_and_unknown_token(tmp_path: Path) -> None:
    with services.matrix("syt_other", ROOM) as server:
        s = setup(tmp_path, config([matrix(server, tmp_path)]))
        server.then((429, {"errcode": "M_LIMIT_EXCEEDED", "error": "Too many requests", "retry_after_ms": 120000},
                     {}))
        s.enqueue(make_alert(1))
        await s.worker.drain(timeout_s=10)
        assert only(s).state == "pending" and only(s).next_attempt_at >= T0 + timedelta(seconds=120)
        s.clock.advance(timedelta(minutes=3))
        await s.worker.drain(timeout_s=10)
        assert only(s).state == "dead" and "M_UNKNOWN_TOKEN" in (only(s).last_error or "")
        await s.worker.close()


# -- Teams


async def test_teams_adaptive_card_fits_and_keeps_feed_text_inert(tmp_path: Path) -> None:
    with services.teams("/workflows/abc/triggers/manual/paths/invoke?sig=s3cr3t") as server:
        url = token_file(tmp_path, server.url + "/workflows/abc/triggers/manual/paths/invoke?sig=s3cr3t")
        s = setup(tmp_path, config([{"name": "teams", "kind": "teams", "url": url}], grouping=ONE_GROUP))
        s.enqueue(*(replace(make_alert(n, title=HOSTILE + " [x](https://evil.example)"), summary="Ж" * 600)
                    for n in range(30)))
        assert await s.worker.drain(timeout_s=10) == 0 and s.worker.dead() == 0
        (request,) = server.accepted()
        card = request.body["attachments"][0]["content"]
        runs = [inline for block in card["body"] for inline in block["inlines"]]
        assert all(run["type"] == "TextRun" for run in runs)
        assert any("more (tocsin alerts --recent" in run["text"] for run in runs)
        await s.worker.close()


async def test_a_deleted_teams_workflow_is_a_dead_letter_without_its_signature(tmp_path: Path) -> None:
    with services.teams("/other") as server:
        url = token_file(tmp_path, server.url + "/workflows/abc?sig=s3cr3t")
        s = setup(tmp_path, config([{"name": "teams", "kind": "teams", "url": url}]))
        s.enqueue(make_alert(1))
        await s.worker.drain(timeout_s=10)
        assert only(s).state == "dead" and "WorkflowNotFound" in (only(s).last_error or "")
        assert "s3cr3t" not in (only(s).last_error or "")
        await s.worker.close()


# -- PagerDuty


def pagerduty(server: services.ServiceServer, tmp_path: Path, key: str = "R0UT1NGKEY") -> dict[str, Any]:
    return {"name": "pd", "kind": "pagerduty", "url": server.url + "/v2/enqueue",
            "routing_key": token_file(tmp_path, key)}


async def test_pagerduty_triggers_by_situation_and_resolves_when_it_falls(tmp_path: Path) -> None:
    with services.pagerduty("R0UT1NGKEY") as server:
        s = setup(tmp_path, config([pagerduty(server, tmp_path)]))
        s.enqueue(escalation("place:Idlib", "high", "none", 0), make_alert(7, story_id="story_1"))
        await s.worker.drain(timeout_s=10)
        s.enqueue(escalation("place:Idlib", "none", "high", 60, severity="low"))
        assert await s.worker.drain(timeout_s=10) == 0
        events = [r.body for r in server.accepted()]
        assert sorted((e["event_action"], e["dedup_key"]) for e in events) == [
            ("resolve", "place:Idlib"), ("trigger", "place:Idlib"), ("trigger", "story_1")]
        trigger = next(e for e in events if e["dedup_key"] == "story_1")
        assert trigger["payload"]["severity"] == "error"
        assert trigger["links"][0]["href"] == "https://news.example.org/idlib/7"
        await s.worker.close()


async def test_pagerduty_invalid_key_is_dead_and_429_is_retried(tmp_path: Path) -> None:
    with services.pagerduty("R0UT1NGKEY") as server:
        server.then((429, {"status": "throttle event", "message": "Requests for this service are arriving too "
                                                               "quickly."}, {}))
        s = setup(tmp_path, config([pagerduty(server, tmp_path)]))
        s.enqueue(make_alert(1))
        await s.drain_until_settled()
        assert [r.status for r in server.requests] == [429, 202] and only(s).state == "delivered"
    with services.pagerduty("R0UT1NGKEY") as server:
        s = setup(tmp_path / "other", config([pagerduty(server, tmp_path, "WRONGKEY")]))
        s.enqueue(make_alert(1))
        await s.worker.drain(timeout_s=10)
        assert only(s).state == "dead" and "routing_key" in (only(s).last_error or "")
        assert "WRONGKEY" not in (only(s).last_error or "")
        await s.worker.close()


def test_a_token_with_a_line_break_is_refused_without_quoting_it(tmp_path: Path) -> None:
    from tocsin.deliver.credentials import credential_problems
    delivery = config([{"name": "tg", "kind": "telegram", "token": token_file(tmp_path, "abc\nX-Bad: s3cr3t"),
                        "chat_id": 1}])
    problems = credential_problems(delivery.receivers[0])
    assert problems and "line break" in problems[0] and "s3cr3t" not in problems[0]
    with pytest.raises(ConfigError):
        from tocsin.deliver.receivers.telegram import TelegramSender
        TelegramSender(delivery.receivers[0], None)  # type: ignore[arg-type]


async def test_matrix_and_pagerduty_cut_huge_alerts_to_their_limits(tmp_path: Path) -> None:
    huge = [replace(make_alert(n, title="Ж" * 3000), summary="😀" * 5000) for n in range(30)]
    with services.matrix("syt_s3cr3t", ROOM) as server:
        s = setup(tmp_path, config([matrix(server, tmp_path)], grouping=ONE_GROUP))
        s.enqueue(*huge)
        assert await s.worker.drain(timeout_s=10) == 0 and s.worker.dead() == 0
        assert len(server.accepted()[0].body["body"].encode()) <= 16000
        await s.worker.close()
    with services.pagerduty("R0UT1NGKEY") as server:
        s = setup(tmp_path / "pd", config([pagerduty(server, tmp_path)]))
        s.enqueue(huge[0])
        assert await s.worker.drain(timeout_s=10) == 0 and s.worker.dead() == 0
        assert len(server.accepted()[0].body["payload"]["summary"]) <= 1024
        await s.worker.close()
