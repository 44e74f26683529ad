"""The kinds of alert, apart from the alert model: receiver settings filter on them, and the configuration must not
import the alerts it configures."""

from __future__ import annotations

from typing import Literal

AlertKind = Literal["match", "story_update", "escalation", "deadline_reminder", "digest", "test"]
