"""What a rule match carries: the evidence behind it. Its JSON form is the `tocsin match --json` contract."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from tocsin.severity import Severity

Field = Literal["title", "summary"]


@dataclass(frozen=True, slots=True)
class Evidence:
    field: Field
    start: int
    end: int
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True, slots=True)
class Quantity:
    unit: str
    """The unit family as the rule files name it: troops, vehicles, killed, displaced, ..."""
    value: float
    qualifier: str | None
    """As written: "more than", "nearly", "at least", "up to", or None."""
    text: str

    def to_json(self) -> dict[str, Any]:
        value: float | int = int(self.value) if float(self.value).is_integer() else self.value
        return {"unit": self.unit, "value": value, "qualifier": self.qualifier, "text": self.text}


@dataclass(frozen=True, slots=True)
class Deadline:
    at: datetime
    """Resolved absolute time, UTC."""
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat().replace("+00:00", "Z"), "text": self.text}


@dataclass(frozen=True, slots=True)
class Match:
    rule: str
    title: str
    severity: Severity
    tags: tuple[str, ...]
    evidence: tuple[Evidence, ...] = ()
    quantities: tuple[Quantity, ...] = ()
    deadline: Deadline | None = None
    places: tuple[str, ...] = ()
    actors: tuple[str, ...] = ()
    description: str = field(default="", compare=False)
    alert: bool = field(default=True, compare=False)
    """False when the rule is a signal rule (`alert = false`): escalation counts the match but sends no alert."""

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "title": self.title,
            "severity": self.severity.value,
            "tags": list(self.tags),
            "evidence": [e.to_json() for e in self.evidence],
            "quantities": [q.to_json() for q in self.quantities],
            "deadline": self.deadline.to_json() if self.deadline else None,
            "places": list(self.places),
            "actors": list(self.actors),
        }
