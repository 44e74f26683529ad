"""From a receiver's configuration to the sender that speaks its protocol."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from tocsin.clock import Clock
from tocsin.config.delivery import ConsoleReceiver, EmailReceiver, WebhookReceiver
from tocsin.deliver.base import Sender
from tocsin.deliver.receivers.console import ConsoleSender
from tocsin.deliver.receivers.email import EmailSender
from tocsin.deliver.receivers.webhook import WebhookSender


def build_sender(
    config: ConsoleReceiver | WebhookReceiver | EmailReceiver,
    http_client: Callable[[Path | None], httpx.AsyncClient],
    clock: Clock,
) -> Sender:
    """`http_client(ca_file)` gives the shared HTTP client that trusts that CA bundle (None: the system's).
    Raises ConfigError when a secret or a CA file cannot be read or is malformed."""
    if isinstance(config, WebhookReceiver):
        return WebhookSender(config, http_client(config.ca_file))
    if isinstance(config, EmailReceiver):
        return EmailSender(config, clock)
    return ConsoleSender(config)
