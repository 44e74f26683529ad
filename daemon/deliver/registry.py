"""From a receiver's configuration to the sender that speaks its protocol."""

from __future__ import annotations

import httpx

from daemon.clock import Clock
from daemon.config.delivery import ConsoleReceiver, EmailReceiver, WebhookReceiver
from daemon.deliver.base import Sender
from daemon.deliver.console import ConsoleSender
from daemon.deliver.email import EmailSender
from daemon.deliver.webhook import WebhookSender


def build_sender(
    config: ConsoleReceiver | WebhookReceiver | EmailReceiver, http: httpx.AsyncClient, clock: Clock
) -> Sender:
    """Raises ConfigError when a secret cannot be read or is malformed."""
    if isinstance(config, WebhookReceiver):
        return WebhookSender(config, http)
    if isinstance(config, EmailReceiver):
        return EmailSender(config, clock)
    return ConsoleSender(config)
