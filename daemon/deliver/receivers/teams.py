"""Microsoft Teams: a Workflows incoming webhook ("Post to a channel when a webhook request is received") that
takes a message with one Adaptive Card. Feed text goes in TextRuns of a RichTextBlock, which Teams never reads
as Markdown, so a headline cannot add links or formatting; item links become Action.OpenUrl buttons. The card
is kept under Teams' 28 KB message limit by leaving out the alerts that do not fit (and saying so)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import httpx

from tocsin.alerts import Alert
from tocsin.config.delivery import TeamsReceiver
from tocsin.deliver.base import Outcome, headline, one_line
from tocsin.deliver.credentials import teams_url
from tocsin.deliver.formats import MAX_ALERTS_SHOWN
from tocsin.deliver.receivers.http import JsonClient, ServiceAnswer
from tocsin.urls import encoded_link

TEAMS_MESSAGE_BYTES = 28000
_ACTIONS = 5
_COLOUR = {"critical": "attention", "high": "attention", "medium": "warning", "low": "accent", "info": "default"}


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": text, **style}]}


def _alert_blocks(alert: Alert) -> list[dict[str, Any]]:
    blocks = [_text(f"{alert.severity.value.upper()}: {one_line(alert.title, 200)}", weight="bolder",
                    color=_COLOUR[alert.severity.value])]
    if alert.summary:
        blocks.append(_text(one_line(alert.summary, 500)))
    blocks += [_text(f"• {one_line(item.title, 150)} ({one_line(item.feed, 60)})") for item in alert.items[:3]]
    return blocks


def card_message(alerts: Sequence[Alert]) -> dict[str, Any]:
    """The webhook body: a message whose one attachment is the Adaptive Card; as many alerts as fit."""
    shown = list(alerts[:MAX_ALERTS_SHOWN])
    while True:
        body = [_text(headline(alerts), weight="bolder", size="medium")]
        for alert in shown:
            body += _alert_blocks(alert)
        if len(shown) < len(alerts):
            body.append(_text(f"… and {len(alerts) - len(shown)} more (tocsin alerts --recent lists them)",
                              isSubtle=True))
        links = [(one_line(item.title, 60), link) for alert in shown for item in alert.items
                 if (link := encoded_link(item.link))]
        card = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard",
                "version": "1.4", "body": body, "msteams": {"width": "Full"},
                "actions": [{"type": "Action.OpenUrl", "title": title, "url": link}
                            for title, link in links[:_ACTIONS]]}
        message = {"type": "message", "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}]}
        if len(shown) <= 1 or len(json.dumps(message, ensure_ascii=False).encode()) <= TEAMS_MESSAGE_BYTES:
            return message
        shown = shown[: len(shown) // 2]


def _reason(answer: ServiceAnswer) -> str:
    error = answer.data.get("error")
    if isinstance(error, dict):
        return ": ".join(str(error.get(key)) for key in ("code", "message") if isinstance(error.get(key), str))
    return ""


class TeamsSender:
    def __init__(self, config: TeamsReceiver, client: httpx.AsyncClient) -> None:
        self.name = config.name
        self._url = teams_url(config)
        self._http = JsonClient(client, config.timeout, (self._url, self._url.partition("?")[2]))

    async def send(self, alerts: Sequence[Alert]) -> Outcome:
        outcome, _ = await self._http.send("POST", self._url, card_message(alerts), reason=_reason)
        return outcome
