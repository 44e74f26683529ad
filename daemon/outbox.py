"""The durable outbox and its delivery worker. (Starter: the delivery issue fills this in.)"""

from __future__ import annotations

from daemon.clock import Clock
from daemon.config.delivery import DeliveryConfig
from daemon.store import Database


class DeliveryWorker:
    """Sends what the outbox holds, retrying with backoff; owned and started by the Service."""

    def __init__(self, db: Database, config: DeliveryConfig, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock

    def configure(self, config: DeliveryConfig) -> None:
        self.config = config

    async def run(self) -> None:
        """Deliver until cancelled."""

    async def drain(self, timeout_s: float) -> int:
        """Deliver everything that is due now (for `run --once`); returns how many remain pending."""
        return 0

    async def close(self) -> None:
        """Release clients; in-flight sends get the caller's grace period before this is called."""
