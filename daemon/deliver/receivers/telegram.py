"""Telegram: the Bot API's sendMessage to one chat, in HTML parse mode (feed text HTML-escaped, links kept as
<a href>), at most 4,096 characters. "Chat not found", a bot blocked or removed, and a revoked token (401) are
refused for good; 429 waits the `retry_after` Telegram gives."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import httpx

from tocsin.alerts import Alert
from tocsin.config.delivery import TelegramReceiver
from tocsin.deliver.base import Outcome
from tocsin.deliver.credentials import bearer_token
from tocsin.deliver.formats import HTML, group_text
from tocsin.deliver.receivers.http import JsonClient, ServiceAnswer

TELEGRAM_TEXT = 4096


def _retry_after(answer: ServiceAnswer) -> timedelta | None:
    parameters = answer.data.get("parameters")
    seconds = parameters.get("retry_after") if isinstance(parameters, dict) else None
    return timedelta(seconds=seconds) if isinstance(seconds, int) and 0 < seconds <= 86400 else None




class TelegramSender:
    def __init__(self, config: TelegramReceiver, client: httpx.AsyncClient) -> None:
        self.name = config.name
        token = bearer_token(config.name, "token", config.token)
        self._url = f"{config.api_url.rstrip('/')}/bot{token}/sendMessage"
        self._chat_id = config.chat_id
        self._http = JsonClient(client, config.timeout, (token, self._url))

    async def send(self, alerts: Sequence[Alert]) -> Outcome:
        body = {"chat_id": self._chat_id, "text": group_text(alerts, HTML, TELEGRAM_TEXT), "parse_mode": "HTML",
                "link_preview_options": {"is_disabled": True}}
        outcome, _ = await self._http.send("POST", self._url, body, retry_after=_retry_after, reason="description")
        return outcome
