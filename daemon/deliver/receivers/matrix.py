"""Matrix: an m.notice (what bots send) to one room through the client-server API,
`PUT /_matrix/client/v3/rooms/{room}/send/m.room.message/{txnId}`, with a plain `body` and an HTML
`formatted_body` (feed text escaped). The transaction id is the alert id (a hash of the ids for a group), so a
retry of an accepted request is recognised by the homeserver and shown once. `m.mentions: {}` says the message
mentions nobody, so an "@room" in a headline pings no one. Each part stays within 16,000 bytes (an event may be
65,536). A revoked token (M_UNKNOWN_TOKEN) or a room the bot is not in (M_FORBIDDEN) is refused for good."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from urllib.parse import quote

import httpx

from tocsin.alerts import Alert
from tocsin.config.delivery import MatrixReceiver
from tocsin.deliver.base import Outcome
from tocsin.deliver.credentials import bearer_token
from tocsin.deliver.formats import HTML, PLAIN, alert_lines, fit_bytes
from tocsin.deliver.receivers.http import JsonClient, ServiceAnswer
from tocsin.items import content_hash

MATRIX_PART_BYTES = 16000


def _retry_after(answer: ServiceAnswer) -> timedelta | None:
    milliseconds = answer.data.get("retry_after_ms")
    return timedelta(milliseconds=milliseconds) if isinstance(milliseconds, int) and milliseconds > 0 else None


def _reason(answer: ServiceAnswer) -> str:
    return ": ".join(part for part in (answer.text("errcode"), answer.text("error")) if part)


def transaction_id(alerts: Sequence[Alert]) -> str:
    return alerts[0].id if len(alerts) == 1 else "grp_" + content_hash(*(alert.id for alert in alerts))[:24]


class MatrixSender:
    def __init__(self, config: MatrixReceiver, client: httpx.AsyncClient) -> None:
        self.name = config.name
        token = bearer_token(config.name, "access_token", config.access_token)
        self._base = (f"{config.homeserver.rstrip('/')}/_matrix/client/v3/rooms/{quote(config.room, safe='')}"
                      "/send/m.room.message/")
        self._headers = {"authorization": f"Bearer {token}"}
        self._http = JsonClient(client, config.timeout, (token,))

    async def send(self, alerts: Sequence[Alert]) -> Outcome:
        grouped = len(alerts) > 1
        plain = [line for alert in alerts for line in alert_lines(alert, PLAIN, grouped=grouped)]
        marked = [line for alert in alerts for line in alert_lines(alert, HTML, grouped=grouped)]
        body = {"msgtype": "m.notice", "body": fit_bytes(plain, MATRIX_PART_BYTES),
                "format": "org.matrix.custom.html",
                "formatted_body": fit_bytes(marked, MATRIX_PART_BYTES).replace("\n", "<br>\n"),
                "m.mentions": {}}
        url = self._base + quote(transaction_id(alerts), safe="")
        outcome, _ = await self._http.send("PUT", url, body, self._headers, retry_after=_retry_after,
                                           reason=_reason)
        return outcome
