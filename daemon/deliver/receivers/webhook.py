"""Webhook receivers: the alert as JSON (or a Slack/Discord body), POSTed with httpx and signed as the Standard
Webhooks specification says, so any Standard Webhooks library can verify it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Sequence

import httpx

from tocsin import redaction
from tocsin.alerts import Alert
from tocsin.backoff import parse_retry_after
from tocsin.config.delivery import WebhookReceiver
from tocsin.config.secrets import secret_values
from tocsin.deliver.base import Outcome, one_line
from tocsin.deliver.credentials import webhook_headers, webhook_key
from tocsin.deliver.formats import discord_messages, slack_messages
from tocsin.items import content_hash

_RETRYABLE = frozenset({408, 425, 429})
_RETRY_AFTER_HONOURED = frozenset({429, 503})
_BODY_REFUSED = frozenset({400, 413})
"""What Slack and Discord answer to a body over their limits (Discord: 400 "Invalid Form Body")."""


def signature(key: bytes, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256 of "id.timestamp.body">`."""
    mac = hmac.new(key, f"{message_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class WebhookSender:
    def __init__(self, config: WebhookReceiver, client: httpx.AsyncClient) -> None:
        self.name = config.name
        self._config = config
        # A chat webhook URL carries its token in the path, a header may hold a credential: whatever the receiver
        # echoes, the log, the outbox and the command line mask them.
        redaction.learn(secret_values(config))
        self._client = client
        # Parsed once: per request, httpx would parse the URL and build the timeout again.
        self._url = httpx.URL(config.url)
        self._timeout = httpx.Timeout(config.timeout.total_seconds())
        self._key = webhook_key(config)
        self._headers = {"content-type": "application/json", "user-agent": "tocsin-webhook",
                         **webhook_headers(config)}

    def messages(self, alerts: Sequence[Alert]) -> list[tuple[str, bytes]]:
        """(message id, body) pairs: one per alert in tocsin's format (the id is the alert's, stable across
        retries), as many per group as the chat service's limits need for chat formats."""
        if self._config.format == "tocsin":
            return [(alert.id, alert.to_json_bytes()) for alert in alerts]
        bodies = slack_messages(alerts) if self._config.format == "slack" else discord_messages(alerts)
        group_id = content_hash(*(alert.id for alert in alerts))[:24]
        return [(f"msg_{group_id}" + (f"_{index}" if index else ""), json.dumps(body, ensure_ascii=False).encode())
                for index, body in enumerate(bodies)]

    async def send(self, alerts: Sequence[Alert]) -> Outcome:
        for message_id, body in self.messages(alerts):
            outcome, status = await self._post(message_id, body)
            if status in _BODY_REFUSED and self._config.format != "tocsin" and len(alerts) > 1:
                # A chat body is ours: refused as too large or malformed, it is our bug, not the alerts' fault.
                # Halves make smaller messages; only a single alert that is still refused is a dead letter.
                # Messages of this group already accepted may be sent again (delivery is at least once anyway).
                half = len(alerts) // 2
                for part in (alerts[:half], alerts[half:]):
                    outcome = await self.send(part)
                    if outcome.status != "delivered":
                        return outcome
                return Outcome.delivered()
            if outcome.status != "delivered":
                return outcome
        return Outcome.delivered()

    async def _post(self, message_id: str, body: bytes) -> tuple[Outcome, int | None]:
        timestamp = int(time.time())
        headers = {**self._headers, "webhook-id": message_id, "webhook-timestamp": str(timestamp)}
        if self._key is not None:
            headers["webhook-signature"] = signature(self._key, message_id, timestamp, body)
        try:
            response = await self._client.post(self._url, content=body, headers=headers, timeout=self._timeout)
        except httpx.TimeoutException:
            return Outcome.retry(f"no answer within {self._config.timeout.total_seconds():g}s"), None
        except httpx.HTTPError as exc:
            return Outcome.retry(f"{type(exc).__name__}: {exc}"), None
        return classify(response), response.status_code


def classify(response: httpx.Response) -> Outcome:
    """2xx delivered; 408, 425, 429 and 5xx retried (honouring Retry-After on 429/503); anything else refused."""
    status = response.status_code
    if 200 <= status < 300:
        return Outcome.delivered()
    answer = one_line(response.text, 200) if response.content else ""
    reason = f"HTTP {status} {response.reason_phrase}" + (f": {answer}" if answer else "")
    if status in _RETRYABLE or status >= 500:
        retry_after = parse_retry_after(response.headers.get("retry-after")) if status in _RETRY_AFTER_HONOURED \
            else None
        return Outcome.retry(reason, retry_after)
    if 300 <= status < 400:
        reason += " (redirects are not followed for webhooks: configure the final URL)"
    return Outcome.permanent(reason)
