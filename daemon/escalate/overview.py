"""The situations as an analyst reads them: what is going on now, and how one situation got where it is.

`current` lists the situations that hold a level, with their score, since when and their strongest signals;
`timeline` gives one situation's level changes and signals, oldest first, with the items behind them. Both only
read the state that escalation writes (`situations`, `situation_changes`, `situation_signals`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tocsin.escalate.rules import level_name
from tocsin.escalate.situations import Signal, Situations, signal_from_row

STRONGEST_SIGNALS = 5


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _time(stamp: int) -> datetime:
    return datetime.fromtimestamp(stamp, UTC)


@dataclass(frozen=True, slots=True)
class SituationNow:
    key: str
    level: str
    score: float | None
    """The highest ladder score of its rules, decayed to now; None when no ladder rule concerns it."""
    since: datetime
    """When it reached its current level."""
    opened: datetime
    """When it first rose above no level, in this episode."""
    falling_since: datetime | None
    reasons: tuple[str, ...]
    signals: tuple[Signal, ...]

    def to_json(self) -> dict[str, object]:
        return {
            "situation": self.key, "level": self.level,
            "score": None if self.score is None else round(self.score, 2),
            "since": _iso(self.since), "opened": _iso(self.opened),
            "falling_since": _iso(self.falling_since) if self.falling_since else None,
            "reasons": list(self.reasons), "signals": [signal.to_json() for signal in self.signals],
        }


@dataclass(frozen=True, slots=True)
class Change:
    at: datetime
    level: str
    previous: str
    alerted: str | None
    """The id of the alert that announced it, if one did."""
    reason: str

    def to_json(self) -> dict[str, object]:
        return {"event": "level", "at": _iso(self.at), "level": self.level, "previous_level": self.previous,
                "alert_id": self.alerted, "reason": self.reason}


def current(situations: Situations, now: datetime) -> list[SituationNow]:
    """Every situation holding a level, highest level first, then the most recent change."""
    rows = situations.db.connection.execute(
        "SELECT situation, level, changed_at, opened_at, falling_since FROM situations WHERE level > 0 "
        "ORDER BY level DESC, changed_at DESC, situation"
    ).fetchall()
    found = []
    for row in rows:
        findings = situations.assess(row["situation"], now)
        scores = [finding.score for finding in findings if finding.score is not None]
        strongest = sorted(findings, key=lambda finding: (finding.hold, finding.score or 0), reverse=True)
        signals: dict[tuple[str, str], Signal] = {}
        # The signals behind its current level: those its rules saw when it was reached.
        reached = _time(row["changed_at"])
        for finding in strongest:
            for signal in reversed(situations.explain(finding, row["situation"], reached)):
                signals.setdefault((signal.story_id, signal.tag), signal)
        found.append(SituationNow(
            key=row["situation"], level=level_name(row["level"]) or "none", score=max(scores, default=None),
            since=_time(row["changed_at"]), opened=_time(row["opened_at"] or row["changed_at"]),
            falling_since=_time(row["falling_since"]) if row["falling_since"] is not None else None,
            reasons=tuple(f"{finding.rule.id}: {finding.reason}" for finding in strongest),
            signals=tuple(signals.values())[:STRONGEST_SIGNALS],
        ))
    return found


def timeline(situations: Situations, key: str) -> list[Change | Signal] | None:
    """The situation's level changes and the signals still kept, oldest first; None for an unknown key."""
    connection = situations.db.connection
    changes: list[Change | Signal] = [
        Change(_time(row["at"]), level_name(row["level"]) or "none", level_name(row["previous"]) or "none",
               row["alert_id"], row["reason"])
        for row in connection.execute(
            "SELECT * FROM situation_changes WHERE situation = ? ORDER BY at, level", (key,)
        )
    ]
    signals = [signal_from_row(row) for row in connection.execute(
        "SELECT * FROM situation_signals WHERE situation = ? ORDER BY at, story_id, tag", (key,)
    )]
    if not changes and not signals:
        return None
    # A signal sorts before the level change it caused at the same moment.
    return sorted([*changes, *signals], key=lambda event: (event.at, isinstance(event, Change)))
