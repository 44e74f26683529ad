"""From a receiver's configuration to the sender that speaks its protocol."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tocsin.alerts import Alert
from tocsin.clock import Clock
from tocsin.config.delivery import (
    AlertmanagerReceiver,
    AnyReceiver,
    EmailReceiver,
    MatrixReceiver,
    NtfyReceiver,
    PagerDutyReceiver,
    TeamsReceiver,
    TelegramReceiver,
    WebhookReceiver,
)
from tocsin.deliver.base import Sender
from tocsin.deliver.receivers.alertmanager import AlertmanagerSender
from tocsin.deliver.receivers.console import ConsoleSender
from tocsin.deliver.receivers.email import EmailSender
from tocsin.deliver.receivers.matrix import MatrixSender
from tocsin.deliver.receivers.ntfy import NtfySender
from tocsin.deliver.receivers.pagerduty import PagerDutySender
from tocsin.deliver.receivers.teams import TeamsSender
from tocsin.deliver.receivers.telegram import TelegramSender
from tocsin.deliver.receivers.webhook import WebhookSender


def _never_superseded(_alert: Alert) -> bool:
    return False


def build_sender(
    config: AnyReceiver,
    http_client: Callable[[Path | None], httpx.AsyncClient],
    clock: Clock,
    superseded: Callable[[Alert], bool] = _never_superseded,
) -> Sender:
    """`http_client(ca_file)` gives the shared HTTP client that trusts that CA bundle (None: the system's);
    `superseded(alert)` says whether a later alert replaces it (the outbox knows). Raises ConfigError when a
    secret or a CA file cannot be read or is malformed."""
    if isinstance(config, WebhookReceiver):
        return WebhookSender(config, http_client(config.ca_file))
    if isinstance(config, EmailReceiver):
        return EmailSender(config, clock)
    if isinstance(config, AlertmanagerReceiver):
        return AlertmanagerSender(config, http_client(config.ca_file), clock, superseded)
    if isinstance(config, NtfyReceiver):
        return NtfySender(config, http_client(config.ca_file))
    if isinstance(config, TelegramReceiver):
        return TelegramSender(config, http_client(config.ca_file))
    if isinstance(config, MatrixReceiver):
        return MatrixSender(config, http_client(config.ca_file))
    if isinstance(config, TeamsReceiver):
        return TeamsSender(config, http_client(config.ca_file))
    if isinstance(config, PagerDutyReceiver):
        return PagerDutySender(config, http_client(config.ca_file))
    return ConsoleSender(config)
