"""Routing alerts to receivers and grouping them. (Starter: the delivery issue fills this in.)"""

from __future__ import annotations

from collections.abc import Sequence

from daemon.alerts import Alert
from daemon.clock import Clock
from daemon.config.delivery import DeliveryConfig
from daemon.store import Database


class Router:
    def __init__(self, db: Database, config: DeliveryConfig, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock

    def configure(self, config: DeliveryConfig) -> None:
        self.config = config

    def enqueue(self, alerts: Sequence[Alert]) -> None:
        """Write the alerts to the outbox for their receivers, inside the caller's transaction."""
