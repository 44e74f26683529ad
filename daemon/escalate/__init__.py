"""Escalation over time: stories, situations, deadlines, throttling and silences.

(Starter: one `match` alert per rule match; the escalation issue replaces this with stories and situations.)
"""

from __future__ import annotations

from daemon.alerts import Alert, AlertItem
from daemon.clock import Clock
from daemon.config.escalation import EscalationConfig
from daemon.items import Item
from daemon.matching.model import Match
from daemon.store import Database


class Escalation:
    def __init__(self, db: Database, config: EscalationConfig, clock: Clock) -> None:
        self.db = db
        self.config = config
        self.clock = clock

    def configure(self, config: EscalationConfig) -> None:
        self.config = config

    def on_item(self, item: Item, matches: list[Match]) -> list[Alert]:
        now = self.clock.now()
        return [
            Alert(
                id=Alert.make_id("match", match.rule, item.id_key),
                kind="match",
                severity=match.severity,
                title=f"{match.title}: {item.title}",
                summary=item.summary[:500],
                created=now,
                rule=match.rule,
                tags=match.tags,
                places=match.places,
                actors=match.actors,
                items=(AlertItem.from_item(item),),
                evidence=match.evidence,
                quantities=match.quantities,
                deadline=match.deadline,
            )
            for match in matches
        ]

    def due(self) -> list[Alert]:
        return []
