"""The pure core after fetch and parse, in one place: items -> dedupe -> match -> escalate -> route -> outbox.

`run` drives it from the poller with the system clock, on the database thread (`Database.run`: the event loop
goes on meanwhile, and a reload swaps the rules only between calls); `replay` and tests call it directly with a
simulated clock. Each call is one transaction: the items marked seen and the alerts they decided are committed
together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tocsin import metrics
from tocsin.alerts import Alert
from tocsin.clock import Clock
from tocsin.config import Settings
from tocsin.config.feeds import FeedConfig
from tocsin.deliver.route import Router
from tocsin.escalate import Escalation
from tocsin.items import Item
from tocsin.rulebook import RuleBook
from tocsin.store import Database
from tocsin.store.seen import SeenItems


@dataclass(frozen=True, slots=True)
class IngestResult:
    new_items: int
    seen_items: int
    matches: int
    alerts: tuple[Alert, ...]


class Pipeline:
    def __init__(self, db: Database, settings: Settings, rules: RuleBook, clock: Clock,
                 router: Router | None = None) -> None:
        """`router`: the delivery worker's (`DeliveryWorker.router`) when one sends, so that queued alerts wake it;
        replay and the CLI route into the outbox without a worker."""
        self.db = db
        self.settings = settings
        self.rules = rules
        self.clock = clock
        self.seen = SeenItems(db)
        self.escalation = Escalation(db, settings.escalation, clock, rules.escalation)
        self.router = router or Router(db, settings.delivery, clock)

    def swap(self, settings: Settings, rules: RuleBook) -> None:
        """Reload: new config and rules take effect for the next item; state is kept."""
        self.settings = settings
        self.rules = rules
        self.escalation.configure(settings.escalation, rules.escalation)
        self.router.configure(settings.delivery)

    def ingest(self, feed: FeedConfig, items: Sequence[Item], *, silent: bool = False) -> IngestResult:
        """Pass a feed's fetched items through the pipeline. `silent` records them as seen without matching
        (the first fetch of a feed without backfill)."""
        now = self.clock.now()
        alerts: list[Alert] = []
        match_count = 0
        with self.db.transaction():
            new_items = self.seen.filter_new(items, now)
            if not silent:
                for item in new_items:
                    matches = self.rules.matching.match(item)
                    match_count += len(matches)
                    for match in matches:
                        metrics.matches.labels(rule=match.rule).inc()
                    if matches:
                        alerts.extend(self.escalation.on_item(item, matches))
                self.router.enqueue(alerts)
        return IngestResult(
            new_items=len(new_items), seen_items=len(items) - len(new_items), matches=match_count,
            alerts=tuple(alerts),
        )

    def tick(self) -> tuple[Alert, ...]:
        """Time-driven work: deadline reminders and situation decay that are due now."""
        with self.db.transaction():
            alerts = self.escalation.due()
            self.router.enqueue(alerts)
        return tuple(alerts)

    def prune(self, limit: int | None = None) -> int:
        """Forget seen items past the retention period (at most `limit`); returns how many were dropped."""
        return self.seen.prune(self.clock.now() - self.settings.store.retention, limit)
