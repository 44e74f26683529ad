"""Slack and Discord bodies against the services' documented limits, through the real outbox to a receiver that
refuses what the service refuses; feed links escaped as Slack's formatting rules say."""

from __future__ import annotations

import json
from pathlib import Path

from tests.alert_factory import config, make_alert, setup
from tests.servers.chat_limits import discord_refusal, refusing, slack_refusal
from tests.servers.webhook_receiver import Answer, WebhookReceiver
from tocsin.alerts import Alert, AlertItem
from tocsin.deliver.formats import slack_messages

ONE_GROUP = {"group_wait": "30s", "group_by": ["rule"]}
HOSTILE_LINK = "https://evil.example/a b @channel <!here|x"


def big_alert(n: int, words: int = 700) -> Alert:
    """An alert whose Discord embed is about 4,300 characters (a long summary and three long item titles)."""
    alert = make_alert(n)
    long_text = " ".join(f"word{k}" for k in range(words))
    items = tuple(AlertItem(f"{long_text[:140]} {k}", f"https://news.example.org/{n}/{k}", "example-world", None)
                  for k in range(3))
    return Alert(**{**{f: getattr(alert, f) for f in alert.__dataclass_fields__}, "summary": long_text,
                    "items": items})


def chat(url: str, format: str) -> dict[str, object]:
    return {"name": "chat", "kind": "webhook", "url": url, "format": format}


async def test_a_discord_group_over_6000_characters_is_split_not_dead_lettered(tmp_path: Path) -> None:
    with WebhookReceiver(judge=refusing(discord_refusal)) as discord:
        s = setup(tmp_path, config([chat(discord.url, "discord")], grouping=ONE_GROUP))
        alerts = [big_alert(n) for n in range(8)]
        s.enqueue(*alerts)
        assert await s.worker.drain(timeout_s=10) == 0
        assert s.worker.dead() == 0
        accepted = discord.accepted()
        assert len(accepted) >= 2, "8 embeds of ~1,500 characters do not fit one 6,000-character message"
        assert all(r.status == 204 for r in discord.requests), "every body we built was within the limits"
        footers = [embed["footer"]["text"] for r in accepted for embed in r.json()["embeds"]]
        assert sorted(f.rsplit(" ", 1)[1] for f in footers) == sorted(a.id for a in alerts)
        assert len({r.headers["webhook-id"] for r in accepted}) == len(accepted)
        await s.worker.close()


async def test_a_chat_body_refused_as_too_large_is_split_before_any_dead_letter(tmp_path: Path) -> None:
    with WebhookReceiver() as discord:
        discord.then(Answer(400, {"content-type": "application/json"},
                            b'{"message": "Invalid Form Body", "code": 50035}'))
        s = setup(tmp_path, config([chat(discord.url, "discord")], grouping=ONE_GROUP))
        s.enqueue(make_alert(1), make_alert(2))
        assert await s.worker.drain(timeout_s=10) == 0
        assert s.worker.dead() == 0
        assert [r.status for r in discord.requests] == [400, 204, 204]
        assert [len(r.json()["embeds"]) for r in discord.requests] == [2, 1, 1]
        await s.worker.close()


async def test_a_single_alert_refused_by_discord_is_a_dead_letter(tmp_path: Path) -> None:
    with WebhookReceiver() as discord:
        discord.then(Answer(400, body=b'{"message": "Invalid Form Body"}'))
        s = setup(tmp_path, config([chat(discord.url, "discord")]))
        s.enqueue(make_alert(1))
        await s.worker.drain(timeout_s=10)
        assert s.worker.dead() == 1 and len(discord.requests) == 1
        await s.worker.close()


async def test_a_slack_group_over_50_blocks_is_split(tmp_path: Path) -> None:
    with WebhookReceiver(judge=refusing(slack_refusal)) as slack:
        s = setup(tmp_path, config([chat(slack.url, "slack")], grouping=ONE_GROUP))
        s.enqueue(*(big_alert(n, words=120) for n in range(30)))
        assert await s.worker.drain(timeout_s=10) == 0
        assert s.worker.dead() == 0
        assert all(r.status == 204 for r in slack.requests)
        assert len(slack.requests) >= 2
        await s.worker.close()


def test_slack_sections_and_text_stay_within_limits_for_huge_alerts() -> None:
    bodies = slack_messages([big_alert(n, words=3000) for n in range(60)])
    for body in bodies:
        assert slack_refusal(body_bytes(body)) is None
        assert len(body["text"]) <= 16000


def body_bytes(body: object) -> bytes:
    return json.dumps(body).encode()


async def test_discord_embed_links_are_valid_urls(tmp_path: Path) -> None:
    with WebhookReceiver(judge=refusing(discord_refusal)) as discord:
        s = setup(tmp_path, config([chat(discord.url, "discord")]))
        s.enqueue(make_alert(1, link=HOSTILE_LINK))
        assert await s.worker.drain(timeout_s=10) == 0
        (request,) = discord.accepted()
        (embed,) = request.json()["embeds"]
        assert embed["url"] == "https://evil.example/a%20b%20@channel%20%3C!here%7Cx"
        await s.worker.close()


def test_slack_links_from_feeds_are_escaped_and_encoded() -> None:
    (body,) = slack_messages([make_alert(1, title="Troops & <tanks>", link=HOSTILE_LINK + "&y=1")])
    text = body["text"]
    assert "<https://evil.example/a%20b%20@channel%20%3C!here%7Cx&amp;y=1|Troops &amp; &lt;tanks&gt;>" in text
    assert "<!here" not in text and " @channel" not in text
