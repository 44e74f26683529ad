"""Webhook delivery through the real outbox to a real HTTP receiver; every request verified with the reference
`standardwebhooks` package and every body validated against docs/alert.schema.json."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import jsonschema
import pytest

from tests.alert_factory import T0, Setup, config, make_alert, schema, setup
from tests.servers.tls import self_signed
from tests.servers.webhook_receiver import Answer, WebhookReceiver
from tocsin.store.outbox import Delivery

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


@pytest.fixture
def receiver() -> WebhookReceiver:
    with WebhookReceiver(secret=SECRET) as running:
        yield running


def hook(url: str, **extra: object) -> dict[str, object]:
    return {"name": "hook", "kind": "webhook", "url": url, "secret": {"value": SECRET}, **extra}


def only_delivery(s: Setup) -> Delivery:
    (delivery,) = s.worker.store.listing(None, 10)
    return delivery


async def test_every_request_is_signed_and_matches_the_schema(tmp_path: Path, receiver: WebhookReceiver) -> None:
    s = setup(tmp_path, config([hook(receiver.url)]))
    alerts = [make_alert(n) for n in range(5)]
    s.enqueue(*alerts)
    assert await s.worker.drain(timeout_s=10) == 0
    requests = receiver.accepted()
    assert len(requests) == 5
    assert all(request.verified for request in requests)
    for request in requests:
        jsonschema.validate(request.json(), schema(), cls=jsonschema.Draft202012Validator)
        assert request.headers["webhook-id"] == request.json()["id"]
        assert request.headers["webhook-signature"].startswith("v1,")
    assert sorted(r.json()["id"] for r in requests) == sorted(a.id for a in alerts)
    await s.worker.close()


async def test_a_receiver_failing_three_times_then_succeeding(tmp_path: Path, receiver: WebhookReceiver) -> None:
    s = setup(tmp_path, config([hook(receiver.url)]))
    receiver.fail(3)
    s.enqueue(make_alert(1))
    await s.worker.drain(timeout_s=10)
    assert len(receiver.requests) == 1
    s.clock.advance(timedelta(seconds=5))  # before the first backoff (10s base) is over: nothing is sent
    await s.worker.drain(timeout_s=10)
    assert len(receiver.requests) == 1
    await s.drain_until_settled(step=timedelta(seconds=30))
    assert [r.status for r in receiver.requests] == [500, 500, 500, 204]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1
    assert all(r.verified for r in receiver.requests)
    delivery = only_delivery(s)
    assert (delivery.state, delivery.attempts, delivery.last_error) == ("delivered", 4, None)
    await s.worker.close()


async def test_429_retry_after_is_honoured(tmp_path: Path, receiver: WebhookReceiver) -> None:
    s = setup(tmp_path, config([hook(receiver.url)]))
    receiver.then(Answer(429, {"Retry-After": "120"}))
    s.enqueue(make_alert(1))
    await s.worker.drain(timeout_s=10)
    delivery = only_delivery(s)
    assert delivery.state == "pending" and "429" in (delivery.last_error or "")
    assert delivery.next_attempt_at >= T0 + timedelta(seconds=120)
    s.clock.advance(timedelta(seconds=119))
    await s.worker.drain(timeout_s=10)
    assert len(receiver.requests) == 1
    s.clock.advance(timedelta(seconds=2))
    assert await s.worker.drain(timeout_s=10) == 0
    assert [r.status for r in receiver.requests] == [429, 204]
    await s.worker.close()


@pytest.mark.parametrize(("status", "retried"), [(410, False), (400, False), (401, False), (404, False),
                                                 (301, False), (408, True), (500, True), (503, True)])
async def test_which_answers_are_retried(tmp_path: Path, receiver: WebhookReceiver, status: int,
                                         retried: bool) -> None:
    s = setup(tmp_path, config([hook(receiver.url)]))
    receiver.then(Answer(status, {"Location": "http://127.0.0.1:1/"} if status == 301 else {}))
    s.enqueue(make_alert(1))
    await s.drain_until_settled(step=timedelta(minutes=5))
    delivery = only_delivery(s)
    if retried:
        assert [r.status for r in receiver.requests] == [status, 204]
        assert delivery.state == "delivered"
    else:
        assert [r.status for r in receiver.requests] == [status]
        assert delivery.state == "dead" and str(status) in (delivery.last_error or "")
    await s.worker.close()


async def test_dead_letters_can_be_requeued(tmp_path: Path, receiver: WebhookReceiver) -> None:
    s = setup(tmp_path, config([hook(receiver.url)]))
    receiver.then(Answer(410))
    s.enqueue(make_alert(1))
    await s.worker.drain(timeout_s=10)
    assert s.worker.dead() == 1
    with s.db.transaction():
        assert s.worker.store.requeue(s.worker.store.dead_ids(), s.clock.now()) == 1
    assert await s.worker.drain(timeout_s=10) == 0
    assert only_delivery(s).state == "delivered"
    assert [r.headers["webhook-id"] for r in receiver.requests] == [make_alert(1).id] * 2
    await s.worker.close()


async def test_a_receiver_down_past_max_age_is_dead_lettered(tmp_path: Path) -> None:
    receiver = WebhookReceiver(secret=SECRET)  # never started: connections are refused
    s = setup(tmp_path, config([hook(receiver.url)], max_age="1h"))
    s.enqueue(make_alert(1))
    await s.drain_until_settled(rounds=30, step=timedelta(minutes=10))
    delivery = only_delivery(s)
    assert delivery.state == "dead"
    assert "still failing 1h after it was queued" in (delivery.last_error or "")
    assert delivery.attempts >= 3
    assert delivery.finished_at is not None
    assert delivery.finished_at - delivery.created_at <= timedelta(hours=1, minutes=10)
    await s.worker.close()


async def test_extra_headers_from_a_secret_file_never_reach_the_logs(
    tmp_path: Path, receiver: WebhookReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("Bearer s3cr3t-t0ken\n")
    receiver.fail(1)
    s = setup(tmp_path, config([hook(receiver.url, headers={"Authorization": {"file": str(token_file)},
                                                           "X-Team": "desk"})]))
    s.enqueue(make_alert(1))
    with caplog.at_level(logging.DEBUG):
        await s.drain_until_settled()
    assert [r.headers["Authorization"] for r in receiver.requests] == ["Bearer s3cr3t-t0ken"] * 2
    assert receiver.requests[-1].headers["X-Team"] == "desk"
    assert caplog.records, "the failure was logged"
    assert not any("s3cr3t" in record.getMessage() or SECRET in record.getMessage() for record in caplog.records)
    await s.worker.close()


async def test_the_url_of_a_chat_webhook_is_not_kept_in_errors(tmp_path: Path) -> None:
    down = WebhookReceiver()
    url = down.url + "/T000/B000/XXXXsecretXXXX"
    s = setup(tmp_path, config([{"name": "chat", "kind": "webhook", "url": url, "format": "slack"}]))
    s.enqueue(make_alert(1))
    await s.worker.drain(timeout_s=10)
    delivery = only_delivery(s)
    assert delivery.state == "pending" and delivery.last_error
    assert "XXXXsecretXXXX" not in delivery.last_error
    await s.worker.close()


async def test_a_malformed_secret_keeps_alerts_queued(tmp_path: Path, receiver: WebhookReceiver) -> None:
    s = setup(tmp_path, config([{"name": "hook", "kind": "webhook", "url": receiver.url,
                                 "secret": {"value": "not-a-standard-webhooks-secret"}}]))
    s.enqueue(make_alert(1))
    await s.worker.drain(timeout_s=10)
    delivery = only_delivery(s)
    assert delivery.state == "pending" and "whsec_" in (delivery.last_error or "")
    assert receiver.requests == []
    await s.worker.close()


ONE_GROUP = {"group_wait": "30s", "group_by": ["rule"]}
HOSTILE = 'x\r\nBcc: victim@example.org <script>alert(1)</script> @everyone <!channel> [click](javascript:alert(1))'


async def test_slack_body_keeps_feed_markup_inert(tmp_path: Path, receiver: WebhookReceiver) -> None:
    s = setup(tmp_path, config([hook(receiver.url, format="slack")], grouping=ONE_GROUP))
    s.enqueue(make_alert(1, title=HOSTILE, link="javascript:alert(1)"), make_alert(2))
    await s.worker.drain(timeout_s=10)
    (request,) = receiver.accepted()
    assert request.verified
    text = request.json()["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<script>" not in text and "\r" not in text
    assert "@everyone" not in text
    assert "javascript:" not in text.replace("[click](javascript:alert(1))", "")
    assert "<https://news.example.org/idlib/2|" in text
    await s.worker.close()


async def test_discord_body_pings_nobody(tmp_path: Path, receiver: WebhookReceiver) -> None:
    s = setup(tmp_path, config([hook(receiver.url, format="discord")], grouping=ONE_GROUP))
    s.enqueue(make_alert(1, title=HOSTILE, link="javascript:alert(1)"), make_alert(2))
    await s.worker.drain(timeout_s=10)
    (request,) = receiver.accepted()
    body = request.json()
    assert body["allowed_mentions"] == {"parse": []}
    assert len(body["embeds"]) == 2
    hostile, plain = sorted(body["embeds"], key=lambda embed: "Bcc" not in embed["title"])
    assert "url" not in hostile and "](javascript" not in hostile["description"]
    assert plain["url"] == "https://news.example.org/idlib/2"
    assert all("\n" not in embed["title"] for embed in body["embeds"])
    await s.worker.close()


async def test_a_down_receiver_is_not_hammered_and_does_not_starve_others(tmp_path: Path,
                                                                           receiver: WebhookReceiver) -> None:
    down = WebhookReceiver()
    s = setup(tmp_path, config([hook(down.url), {**hook(receiver.url), "name": "healthy"}]))
    s.enqueue(*(make_alert(n) for n in range(20)))
    await s.worker.drain(timeout_s=10)
    store = s.worker.store
    failed = [d for d in store.listing("pending", 100) if d.receiver == "hook"]
    assert len(failed) == 20
    assert sum(d.attempts for d in failed) == 4, "one round of per_receiver attempts, then a pause"
    assert len(receiver.accepted()) == 20
    await s.worker.close()


async def test_retry_after_holds_back_everything_queued_for_the_receiver(tmp_path: Path,
                                                                         receiver: WebhookReceiver) -> None:
    s = setup(tmp_path, config([hook(receiver.url)], per_receiver=1))
    receiver.then(Answer(429, {"Retry-After": "60"}))
    alerts = [make_alert(n) for n in range(3)]
    s.enqueue(*alerts)
    await s.worker.drain(timeout_s=10)
    assert [r.status for r in receiver.requests] == [429]
    s.clock.advance(timedelta(seconds=61))
    assert await s.worker.drain(timeout_s=10) == 0
    assert [r.status for r in receiver.requests] == [429, 204, 204, 204]
    assert receiver.requests[0].headers["webhook-id"] == alerts[0].id
    assert sorted(r.headers["webhook-id"] for r in receiver.requests[1:]) == sorted(a.id for a in alerts)
    await s.worker.close()


async def test_a_header_secret_with_a_line_break_is_refused_without_quoting_it(tmp_path: Path,
                                                                               receiver: WebhookReceiver) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("Bearer abc\nX-Injected: s3cr3t\n")
    s = setup(tmp_path, config([hook(receiver.url, headers={"Authorization": {"file": str(token_file)}})]))
    s.enqueue(make_alert(1))
    await s.worker.drain(timeout_s=10)
    delivery = only_delivery(s)
    assert delivery.state == "pending"
    assert "header Authorization contains a line break" in (delivery.last_error or "")
    assert "s3cr3t" not in (delivery.last_error or "")
    assert receiver.requests == []
    await s.worker.close()


async def test_fixing_a_receiver_and_reloading_delivers_what_waited(tmp_path: Path, receiver: WebhookReceiver) -> None:
    broken = config([{"name": "hook", "kind": "webhook", "url": receiver.url, "secret": {"value": "wrong"}}])
    s = setup(tmp_path, broken)
    s.enqueue(make_alert(1))
    await s.worker.drain(timeout_s=10)
    assert only_delivery(s).state == "pending"
    fixed = config([hook(receiver.url)])
    s.router.configure(fixed)
    s.worker.configure(fixed)
    s.clock.advance(timedelta(minutes=1))
    assert await s.worker.drain(timeout_s=10) == 0
    (request,) = receiver.accepted()
    assert request.verified and request.headers["webhook-id"] == make_alert(1).id
    await s.worker.close()


async def test_a_receiver_slower_than_its_timeout_is_retried(tmp_path: Path, receiver: WebhookReceiver) -> None:
    s = setup(tmp_path, config([hook(receiver.url, timeout="300ms")]))
    receiver.then(Answer(204, delay_s=1.0))
    s.enqueue(make_alert(1))
    await s.worker.drain(timeout_s=10)
    delivery = only_delivery(s)
    assert delivery.state == "pending" and delivery.last_error == "no answer within 0.3s"
    s.clock.advance(timedelta(minutes=1))
    assert await s.worker.drain(timeout_s=10) == 0
    assert len(receiver.requests) == 2
    await s.worker.close()


async def test_https_to_a_receiver_with_a_private_ca(tmp_path: Path) -> None:
    context, cert = self_signed(tmp_path)
    with WebhookReceiver(secret=SECRET, tls_context=context) as tls_receiver:
        trusted = {**hook(tls_receiver.url), "ca_file": str(cert)}
        untrusted = {**hook(tls_receiver.url), "name": "untrusted"}
        s = setup(tmp_path, config([trusted, untrusted]))
        s.enqueue(make_alert(1))
        await s.worker.drain(timeout_s=10)
        (request,) = tls_receiver.accepted()
        assert request.verified
        deliveries = {d.receiver: d for d in s.worker.store.listing(None, 10)}
        assert deliveries["hook"].state == "delivered"
        assert deliveries["untrusted"].state == "pending"
        assert "CERTIFICATE_VERIFY_FAILED" in (deliveries["untrusted"].last_error or "")
        await s.worker.close()
