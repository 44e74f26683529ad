"""Receivers, routes and grouping (see docs/delivery.md)."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from daemon.config.types import Duration, StrictModel


class ConsoleReceiver(StrictModel):
    name: str
    kind: str = "console"


class GroupingConfig(StrictModel):
    group_wait: Duration = timedelta(seconds=30)
    group_interval: Duration = timedelta(minutes=5)
    repeat_interval: Duration = timedelta(hours=4)


class DeliveryConfig(StrictModel):
    receivers: tuple[ConsoleReceiver, ...] = Field(default_factory=tuple)
    grouping: GroupingConfig = GroupingConfig()
    max_age: Duration = timedelta(hours=48)
