"""What every service receiver (Alertmanager, ntfy, Telegram, Matrix, Teams, PagerDuty) shares: one JSON request
with its secrets kept out of every error, and the answer read as the outbox needs it.

The mapping is the webhook's (2xx delivered; 408, 425, 429 and 5xx retried, honouring Retry-After; any other 4xx
refused for good) with two service details: the retry delay a service gives in its JSON answer (Telegram's
`parameters.retry_after`, Matrix's `retry_after_ms`) and the service's own error text as the reason."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx

from tocsin import redaction
from tocsin.deliver.base import Outcome, one_line
from tocsin.deliver.receivers.webhook import classify

_ANSWER_READ = 64 * 1024
"""An error answer is read this far for its reason (a receiver's answer is untrusted input)."""


@dataclass(frozen=True, slots=True)
class ServiceAnswer:
    status: int
    data: Mapping[str, Any]
    """The JSON object the service answered ({} when it answered something else)."""

    def text(self, key: str) -> str:
        """A string member of the answer ("" when absent or not a string)."""
        value = self.data.get(key)
        return value if isinstance(value, str) else ""


class JsonClient:
    """Sends JSON to one service. Its tokens and secret URLs are taught to `tocsin.redaction`, so the log, the
    outbox and the command line mask them even when the service echoes them."""

    def __init__(self, client: httpx.AsyncClient, timeout: timedelta, secrets: tuple[str, ...]) -> None:
        self._client = client
        self._timeout_s = timeout.total_seconds()
        self._timeout = httpx.Timeout(self._timeout_s)
        redaction.learn(secrets)

    async def send(self, method: str, url: str, body: Any, headers: Mapping[str, str] | None = None,
                   retry_after: Callable[[ServiceAnswer], timedelta | None] | None = None,
                   reason: Callable[[ServiceAnswer], str] | str | None = None,
                   ) -> tuple[Outcome, ServiceAnswer | None]:
        """(outcome, the answer when one came). `retry_after` and `reason` read a service's JSON error (`reason`
        may name the member that holds its text)."""
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        request_headers = {"content-type": "application/json", "user-agent": "tocsin", **(headers or {})}
        try:
            response = await self._client.request(method, url, content=content, headers=request_headers,
                                                  timeout=self._timeout)
        except httpx.TimeoutException:
            return Outcome.retry(f"no answer within {self._timeout_s:g}s"), None
        except httpx.HTTPError as exc:
            return Outcome.retry(f"{type(exc).__name__}: {exc}"), None
        answer = ServiceAnswer(response.status_code, _json_object(response.content[:_ANSWER_READ]))
        outcome = classify(response)
        if outcome.status == "delivered":
            return outcome, answer
        said = answer.text(reason) if isinstance(reason, str) else reason(answer) if reason else ""
        if said:
            outcome = Outcome(outcome.status, f"HTTP {answer.status}: {one_line(said, 200)}", outcome.retry_after)
        delay = retry_after(answer) if retry_after is not None and outcome.status == "retry" else None
        return Outcome(outcome.status, outcome.reason, delay or outcome.retry_after), answer


def _json_object(content: bytes) -> Mapping[str, Any]:
    try:
        data = json.loads(content)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
