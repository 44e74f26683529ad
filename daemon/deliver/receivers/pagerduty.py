"""PagerDuty: Events API v2. Each alert is one `trigger` whose `dedup_key` is its situation or story (the alert id
otherwise), so later alerts about one situation update one incident; an escalation alert saying a situation is
over (level "none") sends `resolve` for it instead. The summary is cut to PagerDuty's 1,024 characters. 400
(an invalid event or routing key) is refused for good; 429 and 5xx are retried."""

from __future__ import annotations

from collections.abc import Sequence

import httpx

from tocsin.alerts import Alert, iso
from tocsin.config.delivery import PagerDutyReceiver
from tocsin.deliver.base import Outcome, one_line
from tocsin.deliver.receivers.http import JsonClient, ServiceAnswer
from tocsin.severity import Severity
from tocsin.urls import encoded_link

PAGERDUTY_SUMMARY = 1024
SEVERITY = {Severity.INFO: "info", Severity.LOW: "info", Severity.MEDIUM: "warning", Severity.HIGH: "error",
            Severity.CRITICAL: "critical"}


def situation_over(alert: Alert) -> bool:
    """An escalation alert saying its situation fell back to no level at all."""
    return alert.kind == "escalation" and alert.situation is not None and alert.extra.get("level") == "none"


def _reason(answer: ServiceAnswer) -> str:
    errors = answer.data.get("errors")
    details = "; ".join(error for error in errors if isinstance(error, str)) if isinstance(errors, list) else ""
    return ": ".join(part for part in (answer.text("message"), details) if part)


def event(alert: Alert, routing_key: str) -> dict[str, object]:
    dedup_key = alert.situation or alert.story_id or alert.id
    if situation_over(alert):
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": dedup_key}
    links = [{"href": link, "text": one_line(item.title, 200)}
             for item in alert.items[:5] if (link := encoded_link(item.link))]
    return {
        "routing_key": routing_key, "event_action": "trigger", "dedup_key": dedup_key, "client": "tocsin",
        "payload": {
            "summary": one_line(alert.title, PAGERDUTY_SUMMARY), "source": "tocsin",
            "severity": SEVERITY[alert.severity], "timestamp": iso(alert.created),
            "class": alert.kind, "component": alert.rule or alert.kind, "group": ", ".join(alert.places[:5]),
            "custom_details": {"summary": one_line(alert.summary, 2000), "alert_id": alert.id,
                               "tags": list(alert.tags), "places": list(alert.places),
                               "actors": list(alert.actors)},
        },
        "links": links,
    }


class PagerDutySender:
    def __init__(self, config: PagerDutyReceiver, client: httpx.AsyncClient) -> None:
        self.name = config.name
        self._routing_key = config.routing_key.resolve()
        self._url = config.url
        self._http = JsonClient(client, config.timeout, (self._routing_key,))

    async def send(self, alerts: Sequence[Alert]) -> Outcome:
        for alert in alerts:
            outcome, _ = await self._http.send("POST", self._url, event(alert, self._routing_key), reason=_reason)
            if outcome.status != "delivered":
                return outcome
        return Outcome.delivered()
