"""Routing: which receivers get an alert, with which grouping. Ordered routes, first match wins unless a route
says `continue`; the default route catches what no route matched."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from tocsin import metrics
from tocsin.alerts import Alert
from tocsin.clock import Clock
from tocsin.config.delivery import DeliveryConfig, GroupingConfig, Route
from tocsin.deliver.group import Grouper
from tocsin.store import Database
from tocsin.store.outbox import OutboxStore

log = logging.getLogger("tocsin.route")


def route_matches(route: Route, alert: Alert) -> bool:
    if route.severity is not None and alert.severity < route.severity:
        return False
    if route.max_severity is not None and alert.severity > route.max_severity:
        return False
    if route.kinds and alert.kind not in route.kinds:
        return False
    if route.tags and not set(route.tags) & set(alert.tags):
        return False
    if route.rules and alert.rule not in route.rules:
        return False
    if route.places:
        wanted = {place.casefold() for place in route.places}
        if not any(place.casefold() in wanted for place in alert.places):
            return False
    return True


def destinations(config: DeliveryConfig, alert: Alert) -> list[tuple[str, GroupingConfig]]:
    """(receiver name, grouping) for every receiver the alert goes to, each receiver once (first route wins)."""
    chosen: dict[str, GroupingConfig] = {}
    matched = False
    for route in config.routes:
        if not route_matches(route, alert):
            continue
        matched = True
        grouping = route.apply(config.grouping)
        for name in route.receivers:
            chosen.setdefault(name, grouping)
        if not route.continue_:
            break
    if not matched and config.default is not None:
        grouping = config.default.apply(config.grouping)
        for name in config.default.receivers:
            chosen.setdefault(name, grouping)
    return list(chosen.items())


class Router:
    """Owns the outbox's grouping: the one OutboxStore and Grouper that routing fills and the delivery worker
    (which builds the Router the daemon uses) flushes."""

    def __init__(self, db: Database, config: DeliveryConfig, clock: Clock,
                 on_queued: Callable[[], None] = lambda: None) -> None:
        self.db = db
        self.config = config
        self.clock = clock
        self.store = OutboxStore(db)
        self.grouper = Grouper(self.store, config)
        self._on_queued = on_queued
        """Called after alerts were queued (on the database thread during an ingest): wakes the worker."""

    def configure(self, config: DeliveryConfig) -> None:
        self.config = config
        self.grouper.config = config

    def enqueue(self, alerts: Sequence[Alert]) -> None:
        """Record the alerts and put them into their receivers' groups, inside the caller's transaction: the
        state change that decided them and the alerts are committed together, or neither is."""
        if not alerts:
            return
        now = self.clock.now()
        with self.db.transaction():
            for alert in alerts:
                self.store.save_alert(alert)
                metrics.alerts.labels(kind=alert.kind, severity=alert.severity.value).inc()
                targets = destinations(self.config, alert)
                if not targets:
                    log.info("alert %s (%s) matches no route and there is no default route; recorded only",
                             alert.id, alert.kind)
                for name, grouping in targets:
                    receiver = self.config.receiver(name)
                    if receiver is not None:
                        self.grouper.add(alert, receiver, grouping, now)
        self._on_queued()
