"""ntfy: one notification per group, published as JSON to the server's root (title, message, priority from the
severity, tags, the first item's link as the click URL), with an optional access token. Plain text: ntfy shows
the message as it is. The message is kept within ntfy's 4,096 bytes (longer ones become attachments)."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from tocsin.alerts import Alert
from tocsin.config.delivery import NtfyReceiver
from tocsin.deliver.base import Outcome, headline, one_line
from tocsin.deliver.credentials import bearer_token
from tocsin.deliver.formats import PLAIN, alert_lines, fit_bytes
from tocsin.deliver.receivers.http import JsonClient
from tocsin.severity import Severity
from tocsin.urls import encoded_link

NTFY_MESSAGE_BYTES = 4096
PRIORITY = {Severity.INFO: 2, Severity.LOW: 2, Severity.MEDIUM: 3, Severity.HIGH: 4, Severity.CRITICAL: 5}
"""ntfy's 1 (min) to 5 (max, urgent: a long vibration and a pop-over)."""




class NtfySender:
    def __init__(self, config: NtfyReceiver, client: httpx.AsyncClient) -> None:
        self.name = config.name
        self._url = config.url.rstrip("/") + "/"
        self._topic = config.topic
        token = bearer_token(config.name, "token", config.token)
        self._headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = JsonClient(client, config.timeout, (token,))

    async def send(self, alerts: Sequence[Alert]) -> Outcome:
        top = max(alerts, key=lambda alert: alert.severity.rank)
        lines = [line for alert in alerts for line in alert_lines(alert, PLAIN, grouped=len(alerts) > 1)]
        body: dict[str, object] = {
            "topic": self._topic, "title": one_line(headline(alerts), 250),
            "message": fit_bytes(lines, NTFY_MESSAGE_BYTES), "priority": PRIORITY[top.severity],
            "tags": sorted({one_line(tag, 40) for alert in alerts for tag in alert.tags})[:10],
        }
        click = next((link for alert in alerts for item in alert.items if (link := encoded_link(item.link))), None)
        if click:
            body["click"] = click
        outcome, _ = await self._http.send("POST", self._url, body, self._headers, reason="error")
        return outcome
