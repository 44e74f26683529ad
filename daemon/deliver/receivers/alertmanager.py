"""Alertmanager: alerts POSTed to an existing Alertmanager's `/api/v2/alerts`, so a team's routing, inhibition,
silences, HA and receivers apply to them.

Labels (what Alertmanager groups, routes and silences on): `alertname` (the rule; `escalation` for a situation's
alerts, whose rule changes with its findings), `severity`, `kind`, and `situation` with `place`, or `story`,
`place` and `tags`. Annotations: `summary` (the title), `description`, `links`, `rule` and `alert_id`. An alert
fires from its decision (`startsAt`) for `firing_for` (`endsAt`) and is posted again every `resend` until then,
through the outbox like any delivery, as Alertmanager expects of its clients (an Alertmanager that lost its
state gets it back). A situation's alert ends early when the situation changes level: the previous level's alert
is posted resolved (`endsAt` now) with the new level's, and a situation that is over is only resolved. A later
alert of the same situation, or of the same story and rule, replaces an earlier one: that is not posted again."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx

from tocsin.alerts import Alert, iso
from tocsin.clock import Clock
from tocsin.config.delivery import AlertmanagerReceiver
from tocsin.deliver.base import Outcome, one_line, plain_block
from tocsin.deliver.credentials import bearer_token
from tocsin.deliver.receivers.http import JsonClient
from tocsin.escalate.rules import LEVEL_SEVERITY
from tocsin.severity import Severity
from tocsin.urls import encoded_link

_ALERTNAME = re.compile(r"[^A-Za-z0-9_:-]+")


def _labels(alert: Alert, severity: Severity) -> dict[str, str]:
    labels = {"alertname": "escalation" if alert.situation else _ALERTNAME.sub("_", alert.rule or alert.kind),
              "severity": severity.value, "kind": alert.kind}
    if alert.situation:
        labels["situation"] = alert.situation
        if alert.situation.startswith("place:"):
            labels["place"] = alert.situation.removeprefix("place:")
    else:
        labels.update(story=alert.story_id or "", place=",".join(sorted(alert.places)),
                      tags=",".join(sorted(alert.tags)))
    # An empty value is an absent label in Alertmanager; sending one would only differ in form.
    return {name: one_line(value, 200) for name, value in labels.items() if value}


def _annotations(alert: Alert) -> dict[str, str]:
    links = [link for item in alert.items[:10] if (link := encoded_link(item.link))]
    annotations = {"summary": one_line(alert.title, 300), "description": plain_block(alert.summary, 4000),
                   "links": "\n".join(links), "rule": alert.rule or "", "alert_id": alert.id}
    return {name: value for name, value in annotations.items() if value}


def posted_alerts(alert: Alert, firing_for: timedelta, now: datetime) -> list[dict[str, Any]]:
    """What one tocsin alert is in Alertmanager's terms: the alert firing, and for a situation that changed level
    the previous level's alert resolved (only that, when the situation is over)."""
    generator = next((link for item in alert.items if (link := encoded_link(item.link))), None)
    common: dict[str, Any] = {"annotations": _annotations(alert)}
    if generator:
        common["generatorURL"] = generator
    posted = []
    level, previous = alert.extra.get("level"), alert.extra.get("previous_level")
    if alert.situation and previous in LEVEL_SEVERITY and (LEVEL_SEVERITY[previous] != alert.severity
                                                           or level == "none"):
        # No startsAt: Alertmanager keeps the one the previous level's alert started with.
        posted.append({**common, "labels": _labels(alert, LEVEL_SEVERITY[previous]),
                       "endsAt": iso(max(now, alert.created))})
    if not (alert.situation and level == "none"):
        posted.append({**common, "labels": _labels(alert, alert.severity), "startsAt": iso(alert.created),
                       "endsAt": iso(alert.created + firing_for)})
    return posted


class AlertmanagerSender:
    def __init__(self, config: AlertmanagerReceiver, client: httpx.AsyncClient, clock: Clock,
                 superseded: Callable[[Alert], bool]) -> None:
        self.name = config.name
        self._config = config
        self._clock = clock
        self._superseded = superseded
        self._url = config.url.rstrip("/") + "/api/v2/alerts"
        token = bearer_token(config.name, "token", config.token)
        self._headers = {"authorization": f"Bearer {token}"} if token else {}
        self._http = JsonClient(client, config.timeout, (token,))

    async def send(self, alerts: Sequence[Alert]) -> Outcome:
        now = self._clock.now()
        firing_for = self._config.firing_for
        current = [alert for alert in alerts if alert.created + firing_for > now and not self._superseded(alert)]
        if not current:
            return Outcome.delivered()
        body = [posted for alert in current for posted in posted_alerts(alert, firing_for, now)]
        outcome, _ = await self._http.send("POST", self._url, body, self._headers)
        if outcome.status != "delivered":
            return outcome
        again = now + self._config.resend
        # A send-test alert is posted once; a situation that is over has nothing left to keep alive.
        still_firing = any(alert.created + firing_for > again and alert.kind != "test"
                           and not (alert.situation and alert.extra.get("level") == "none") for alert in current)
        return Outcome.delivered(send_again_at=again if still_firing else None)
