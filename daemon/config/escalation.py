"""Stories, situations, deadlines and throttling (see docs/escalation.md)."""

from __future__ import annotations

from datetime import timedelta

from daemon.config.types import Duration, StrictModel


class EscalationConfig(StrictModel):
    story_window: Duration = timedelta(hours=48)
