"""From a receiver's configuration to the sender that speaks its protocol."""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Callable, Sequence
from pathlib import Path

import httpx

from tocsin.alerts import Alert
from tocsin.clock import Clock
from tocsin.config import secret_refs
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
from tocsin.errors import ConfigError


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


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """The TLS context that trusts `ca_file` (the system's store when None); ConfigError when it is unusable."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError([f"ca_file {ca_file}: cannot use it ({exc})"]) from exc


def receiver_problems(receivers: Sequence[AnyReceiver], clock: Clock) -> list[str]:
    """What building each receiver's sender refuses (a webhook secret that is not `whsec_<base64>`, a header value
    with a line break, a token that cannot be sent, an unusable CA file), so `tocsin check` shows it before the
    first delivery would. Receivers with a systemd credential are left to `run` outside systemd."""
    clients: list[httpx.AsyncClient] = []

    def probe(ca_file: Path | None) -> httpx.AsyncClient:
        clients.append(httpx.AsyncClient(verify=tls_context(ca_file)))
        return clients[-1]

    problems: list[str] = []
    for receiver in receivers:
        if "CREDENTIALS_DIRECTORY" not in os.environ and any(ref.credential for _, ref in secret_refs(receiver)):
            continue
        try:
            build_sender(receiver, probe, clock)
        except ConfigError as exc:
            problems += exc.problems
    for client in clients:
        asyncio.run(client.aclose())
    return problems
