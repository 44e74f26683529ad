"""E-mail delivery to a real SMTP server (aiosmtpd); every mail parsed with the standard library."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tests.alert_factory import config, make_alert, setup
from tests.servers.smtp_server import SmtpServer
from tests.servers.tls import self_signed
from tocsin.severity import Severity

HOSTILE = "x\r\nBcc: victim@example.org <script>alert(1)</script>"


def mailbox(port: int, **extra: object) -> dict[str, object]:
    return {"name": "desk", "kind": "email", "host": "127.0.0.1", "port": port, "tls": "none",
            "from": "tocsin@alerts.example.org", "to": ["desk@example.org", "duty@example.org"], **extra}


@pytest.fixture
def smtp() -> SmtpServer:
    with SmtpServer() as server:
        yield server


async def test_a_mail_is_valid_multipart_alternative(tmp_path: Path, smtp: SmtpServer) -> None:
    s = setup(tmp_path, config([mailbox(smtp.port)]))
    s.enqueue(make_alert(1, title="Shootdown — helicopter, Idlib"))
    assert await s.worker.drain(timeout_s=10) == 0
    (mail,) = smtp.mails
    assert mail.sender == "tocsin@alerts.example.org"
    assert sorted(mail.recipients) == ["desk@example.org", "duty@example.org"]
    message = mail.parsed()
    assert message.defects == []
    assert message.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part.get_content() for part in message.iter_parts()}
    assert set(parts) == {"text/plain", "text/html"}
    assert "Shootdown — helicopter, Idlib" in parts["text/plain"]
    assert '<a href="https://news.example.org/idlib/1">' in parts["text/html"]
    assert message["Subject"] == "[tocsin] HIGH: Shootdown — helicopter, Idlib"
    assert message["Message-ID"].endswith("@alerts.example.org>")
    assert message["Auto-Submitted"] == "auto-generated"
    await s.worker.close()


async def test_a_hostile_title_arrives_inert(tmp_path: Path, smtp: SmtpServer) -> None:
    s = setup(tmp_path, config([mailbox(smtp.port)]))
    s.enqueue(make_alert(1, title=HOSTILE, link="javascript:alert(document.cookie)"))
    await s.worker.drain(timeout_s=10)
    (mail,) = smtp.mails
    assert "victim@example.org" not in mail.recipients
    message = mail.parsed()
    assert message["Bcc"] is None
    assert message["Subject"] == "[tocsin] HIGH: x Bcc: victim@example.org <script>alert(1)</script>"
    header_block = mail.data.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in header_block
    html = message.get_body(("html",)).get_content()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "javascript:" not in html
    await s.worker.close()


async def test_alerts_of_one_story_thread_together(tmp_path: Path, smtp: SmtpServer) -> None:
    s = setup(tmp_path, config([mailbox(smtp.port)]))
    s.enqueue(make_alert(1, story_id="story-idlib-heli"), make_alert(2, story_id="story-idlib-heli"),
              make_alert(3, story_id="story-other"), make_alert(4))
    await s.worker.drain(timeout_s=10)
    messages = {m.parsed()["Subject"].rsplit("#", 1)[1]: m.parsed() for m in smtp.wait_for(4)}
    assert messages["1"]["References"] == messages["2"]["References"] == messages["1"]["In-Reply-To"]
    assert messages["3"]["References"] != messages["1"]["References"]
    assert messages["4"]["References"] is None
    assert len({m["Message-ID"] for m in messages.values()}) == 4
    await s.worker.close()


async def test_smtp_auth_with_a_password_file(tmp_path: Path) -> None:
    password = tmp_path / "smtp-password"
    password.write_text("hunter2\n")
    with SmtpServer(users={"tocsin": "hunter2"}) as server:
        s = setup(tmp_path, config([mailbox(server.port, username="tocsin", password={"file": str(password)})]))
        s.enqueue(make_alert(1))
        assert await s.worker.drain(timeout_s=10) == 0
        assert [mail.login for mail in server.mails] == ["tocsin"]
        await s.worker.close()


async def test_a_wrong_password_is_a_dead_letter(tmp_path: Path) -> None:
    with SmtpServer(users={"tocsin": "hunter2"}) as server:
        s = setup(tmp_path, config([mailbox(server.port, username="tocsin", password={"value": "wrong"})]))
        s.enqueue(make_alert(1))
        await s.worker.drain(timeout_s=10)
        (delivery,) = s.worker.store.listing("dead", 10)
        assert "535" in (delivery.last_error or "")
        assert "wrong" not in (delivery.last_error or "")
        await s.worker.close()


async def test_temporary_refusal_is_retried_and_permanent_is_dead(tmp_path: Path, smtp: SmtpServer) -> None:
    s = setup(tmp_path, config([mailbox(smtp.port)]))
    smtp.refuse("451 4.3.0 try again later", "554 5.7.1 rejected")
    s.enqueue(make_alert(1))
    await s.worker.drain(timeout_s=10)
    (first,) = s.worker.store.listing(None, 10)
    assert first.state == "pending" and "451" in (first.last_error or "")
    s.clock.advance(timedelta(minutes=1))
    await s.worker.drain(timeout_s=10)
    (second,) = s.worker.store.listing(None, 10)
    assert second.state == "dead" and "554" in (second.last_error or "")
    assert smtp.mails == []
    await s.worker.close()


async def test_a_digest_is_one_readable_mail(tmp_path: Path, smtp: SmtpServer) -> None:
    receiver = mailbox(smtp.port, digest={"at": "07:00", "timezone": "Europe/Berlin", "min_severity": "low"})
    s = setup(tmp_path, config([receiver]))
    s.enqueue(make_alert(1, severity=Severity.LOW), make_alert(2, severity=Severity.HIGH),
              make_alert(3, severity=Severity.INFO, title="below the digest's minimum"))
    await s.worker.drain(timeout_s=10)
    assert smtp.mails == []  # digests keep their schedule
    s.clock.advance(timedelta(days=1))
    await s.worker.drain(timeout_s=10)
    (mail,) = smtp.mails
    message = mail.parsed()
    assert message["Subject"] == "[tocsin] Digest: 2 alerts (1 high, 1 low)"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Shootdown — helicopter, Idlib #1" in text and "Shootdown — helicopter, Idlib #2" in html
    assert "below the digest" not in text
    assert text.index("#2") < text.index("#1"), "most severe first"
    await s.worker.close()


@pytest.mark.parametrize("tls", ["starttls", "implicit"])
async def test_tls_with_auth(tmp_path: Path, tls: str) -> None:
    context, cert = self_signed(tmp_path)
    with SmtpServer(users={"tocsin": "hunter2"}, tls_context=context, implicit_tls=tls == "implicit") as server:
        receiver = mailbox(server.port, tls=tls, ca_file=str(cert), username="tocsin", password={"value": "hunter2"})
        s = setup(tmp_path, config([receiver]))
        s.enqueue(make_alert(1))
        assert await s.worker.drain(timeout_s=10) == 0
        assert [mail.login for mail in server.mails] == ["tocsin"]
        await s.worker.close()


async def test_an_untrusted_certificate_is_not_accepted(tmp_path: Path) -> None:
    context, _cert = self_signed(tmp_path)
    with SmtpServer(tls_context=context) as server:
        s = setup(tmp_path, config([mailbox(server.port, tls="starttls")]))
        s.enqueue(make_alert(1))
        await s.worker.drain(timeout_s=10)
        (delivery,) = s.worker.store.listing(None, 10)
        assert delivery.state == "pending" and "certificate" in (delivery.last_error or "").lower()
        assert server.mails == []
        await s.worker.close()


async def test_a_group_is_one_mail_headed_by_its_most_severe_alert(tmp_path: Path, smtp: SmtpServer) -> None:
    s = setup(tmp_path, config([mailbox(smtp.port)], grouping={"group_by": ["rule"], "group_wait": "30s"}))
    s.enqueue(make_alert(1, severity=Severity.LOW, title="Troops seen near the border"),
              make_alert(2, severity=Severity.CRITICAL, title="Second helicopter shot down over Idlib"),
              make_alert(3, severity=Severity.MEDIUM, title="Shelling reported"))
    await s.worker.drain(timeout_s=10)
    (mail,) = smtp.mails
    message = mail.parsed()
    assert message["Subject"] == "[tocsin] CRITICAL: Second helicopter shot down over Idlib (+2 more)"
    text = message.get_body(("plain",)).get_content()
    assert all(title in text for title in ("Troops seen", "Second helicopter", "Shelling reported"))
    await s.worker.close()
