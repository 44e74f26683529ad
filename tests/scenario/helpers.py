"""Hand-built items and matches for the escalation tests (the rule engine is exercised by the scenario)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tocsin.clock import SimulatedClock
from tocsin.config.escalation import EscalationConfig
from tocsin.escalate import Escalation
from tocsin.escalate.rules import EscalationRuleSet, load_escalation_rules
from tocsin.items import Item
from tocsin.matching.model import Deadline, Match, Quantity
from tocsin.severity import Severity
from tocsin.store import Database

T0 = datetime(2020, 2, 17, 8, 0, tzinfo=UTC)
REPO = Path(__file__).resolve().parent.parent.parent


def item(title: str, summary: str = "", *, feed: str = "outlet-a", link: str | None = None) -> Item:
    slug = "-".join(title.lower().split())[:60]
    return Item(id=link or f"{feed}/{slug}", feed=feed, title=title, link=link or f"https://{feed}.example/{slug}",
                published=None, summary=summary)


def match(rule: str, *tags: str, places: tuple[str, ...] = (), actors: tuple[str, ...] = (),
          quantities: tuple[Quantity, ...] = (), deadline: datetime | None = None,
          severity: Severity = Severity.HIGH) -> Match:
    return Match(rule=rule, title=rule.replace("-", " ").capitalize(), severity=severity, tags=tags or (rule,),
                 places=places, actors=actors, quantities=quantities,
                 deadline=Deadline(deadline, "by the end of the month") if deadline else None)


def default_rules() -> EscalationRuleSet:
    """The shipped escalation rules over the shipped gazetteer (they group by theatre: Idlib lies in Syria)."""
    return load_escalation_rules([REPO / "rules" / "escalation.toml", REPO / "rules" / "gazetteer.toml"])


def escalation(db: Database, clock: SimulatedClock, rules: EscalationRuleSet | None = None,
               **config: Any) -> Escalation:
    return Escalation(db, EscalationConfig(**config), clock, rules)
