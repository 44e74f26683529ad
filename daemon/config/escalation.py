"""Stories, situations, deadlines, throttling and silences (see docs/escalation.md).

The escalation rules themselves (counts, combinations, level ladders) live in the rule files as `[[escalation]]`
tables; this section holds the knobs that are not per rule.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator

from tocsin.config.types import Duration, StrictModel

Level = Literal["watch", "elevated", "high", "critical"]


class EscalationConfig(StrictModel):
    story_window: Duration = timedelta(hours=48)
    """A report joins a story first reported at most this long before it."""
    story_similarity: float = Field(default=0.55, gt=0, le=1.5)
    """Score a report needs to join a story that shares one of its tags: word overlap (0..1) plus up to 0.2 for
    shared places and actors and 0.15 for a shared number. Lower merges more eagerly."""
    wire_copy_similarity: float = Field(default=0.8, gt=0, le=1)
    """Text overlap above which a report from another outlet is a wire copy, not an independent source."""
    story_updates: tuple[int, ...] = ()
    """Send a `story_update` alert when a story's independent sources reach each of these counts, e.g. [3, 5]."""
    realert_interval: Duration = timedelta(hours=1)
    """A rule alerts again for the same place (or, without places, at all) only after this long."""
    realert_per_rule: dict[str, Duration] = Field(default_factory=dict)
    """Overrides realert_interval for named rules: { shootdown = "6h" }."""
    repeat_interval: Duration = timedelta(hours=24)
    """A situation's escalation alert for one level is not repeated within this interval."""
    min_alert_level: Level = "elevated"
    """Rises to lower levels are recorded but not alerted."""
    alert_on_fall: bool = False
    """Also alert when a situation's level falls back."""
    fall_margin: float = Field(default=0.3, ge=0, lt=1)
    """A ladder's level falls only once its score is this fraction below the level's threshold (0.3: a level
    reached at 12 holds down to 8.4), so a score hovering at a threshold does not flap."""
    fall_after: Duration = timedelta(hours=48)
    """A level falls only after the rules have given the lower level for this long without a break: a lull of a
    day in the reports of a war is not its end."""
    deadline_reminders: tuple[Duration, ...] = (timedelta(hours=24), timedelta(0))
    """Remind this long before each tracked deadline; 0s is the reminder at expiry."""

    @field_validator("story_updates")
    @classmethod
    def _positive_counts(cls, counts: tuple[int, ...]) -> tuple[int, ...]:
        if any(count < 2 for count in counts):
            raise ValueError("story update thresholds count sources and must be 2 or more")
        return tuple(sorted(set(counts)))

    @field_validator("deadline_reminders")
    @classmethod
    def _not_negative(cls, offsets: tuple[timedelta, ...]) -> tuple[timedelta, ...]:
        if any(offset < timedelta(0) for offset in offsets):
            raise ValueError("reminder offsets are durations before the deadline; write 24h or 0s, not -1h")
        return tuple(sorted(set(offsets), reverse=True))
