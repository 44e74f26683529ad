"""Grouping in the spirit of Alertmanager, and digests, kept in the state store so they survive restarts.

An alert routed to a receiver joins a group (by the route's `group_by` labels). A new group goes out `group_wait`
after its first alert; a group that went out recently goes out again no sooner than `group_interval` after that;
an alert already sent to a receiver is not sent to it again within `repeat_interval`. A digest receiver has one
group that goes out on its daily schedule as a single `digest` alert. Going out means: a delivery in the outbox.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta

from tocsin.alerts import Alert, iso
from tocsin.config.delivery import DeliveryConfig, DigestSchedule, GroupingConfig, GroupLabel, ReceiverBase
from tocsin.store.outbox import DIGEST_GROUP, OutboxStore

_DIGEST_MEMBERS_KEPT = 200
"""A digest body lists at most this many alerts in full (the rest are counted), so it stays one readable mail."""


def group_key(alert: Alert, labels: Sequence[GroupLabel]) -> str:
    if "..." in labels:
        return f"alert={alert.id}"
    values = {
        "kind": alert.kind, "rule": alert.rule or "", "severity": alert.severity.value,
        "story": alert.story_id or "", "situation": alert.situation or "",
        "place": ",".join(sorted(alert.places)), "tag": ",".join(sorted(alert.tags)),
    }
    return "|".join(f"{label}={values[label]}" for label in labels) or "all"


def next_digest_time(schedule: DigestSchedule, now: datetime) -> datetime:
    """The next `at` o'clock in the schedule's time zone strictly after now, as UTC."""
    zone = schedule.zone
    local_now = now.astimezone(zone)
    hour, minute = schedule.hour_minute
    for days in (0, 1, 2):
        candidate = datetime.combine(local_now.date() + timedelta(days=days), time(hour, minute), tzinfo=zone)
        if candidate > local_now:
            return candidate.astimezone(UTC)
    raise AssertionError("a time of day recurs within two days")


def digest_alert(receiver: str, members: Sequence[Alert], now: datetime) -> Alert:
    """One alert that carries the collected ones (in `extra.alerts`), most severe first."""
    ordered = sorted(members, key=lambda alert: (-alert.severity.rank, alert.created))
    by_severity = Counter(alert.severity for alert in ordered)
    breakdown = ", ".join(f"{by_severity[level]} {level.value}" for level in sorted(by_severity, reverse=True))
    kept = ordered[:_DIGEST_MEMBERS_KEPT]
    summary = "\n".join(f"{alert.severity.value.upper()}: {alert.title}" for alert in kept[:50])
    if len(ordered) > 50:
        summary += f"\n… and {len(ordered) - 50} more"
    return Alert(
        id=Alert.make_id("digest", receiver, iso(now)),
        kind="digest",
        severity=ordered[0].severity,
        title=f"Digest: {len(ordered)} alert{'s' if len(ordered) != 1 else ''} ({breakdown})",
        summary=summary,
        created=now,
        tags=tuple(sorted({tag for alert in ordered for tag in alert.tags})),
        places=tuple(sorted({place for alert in ordered for place in alert.places})),
        actors=tuple(sorted({actor for alert in ordered for actor in alert.actors})),
        extra={
            "receiver": receiver,
            "since": iso(min(alert.created for alert in ordered)),
            "alerts": [alert.to_json() for alert in kept],
            "omitted": len(ordered) - len(kept),
        },
    )


class Grouper:
    def __init__(self, store: OutboxStore, config: DeliveryConfig) -> None:
        self.store = store
        self.config = config

    def add(self, alert: Alert, receiver: ReceiverBase, grouping: GroupingConfig, now: datetime) -> None:
        """Put an alert into its group for a receiver (inside the caller's transaction), flushing at once when
        the group is due already (group_wait = 0)."""
        known, notified_at = self.store.last_notified(receiver.name, alert.id)
        if known and notified_at is None:
            return  # already waiting in its group
        if notified_at is not None and now - notified_at < grouping.repeat_interval:
            return
        if receiver.digest is not None:
            if alert.severity < receiver.digest.min_severity:
                return
            schedule = receiver.digest
            self._join(receiver.name, DIGEST_GROUP, alert, now, lambda _last: next_digest_time(schedule, now))
            return
        key = group_key(alert, grouping.group_by)

        def first_flush(last_flush_at: datetime | None) -> datetime:
            if last_flush_at is None or now - last_flush_at >= grouping.group_interval:
                return now + grouping.group_wait
            return last_flush_at + grouping.group_interval

        flush_at = self._join(receiver.name, key, alert, now, first_flush)
        if flush_at <= now:
            self.flush(receiver.name, key, now)

    def _join(
        self, receiver: str, key: str, alert: Alert, now: datetime, first_flush: Callable[[datetime | None], datetime]
    ) -> datetime:
        """Add the member; schedule the group when nothing was waiting in it. Returns when it goes out."""
        self.store.add_member(receiver, key, alert.id, now)
        flush_at, last_flush_at = self.store.group_times(receiver, key)
        if flush_at is None:
            flush_at = first_flush(last_flush_at)
            self.store.schedule_group(receiver, key, flush_at)
        return flush_at

    def flush(self, receiver_name: str, key: str, now: datetime) -> list[int]:
        """Turn a group's waiting alerts into deliveries; returns their ids."""
        alert_ids = self.store.take_waiting(receiver_name, key, now)
        if not alert_ids:
            return []
        receiver = self.config.receiver(receiver_name)
        if key == DIGEST_GROUP:
            members = self.store.alerts(alert_ids)
            if not members:
                return []
            digest = digest_alert(receiver_name, members, now)
            self.store.save_alert(digest)
            return [self.store.add_delivery(receiver_name, [digest.id], now)]
        if receiver is not None and receiver.one_message_per_alert:
            return [self.store.add_delivery(receiver_name, [alert_id], now) for alert_id in alert_ids]
        return [self.store.add_delivery(receiver_name, alert_ids, now)]

    def flush_due(self, now: datetime, *, ignore_wait: bool = False) -> int:
        """Flush every group that is due (every waiting group but digests with `ignore_wait`); returns the number
        of deliveries created."""
        created = 0
        for receiver_name, key in self.store.due_groups(now, ignore_wait=ignore_wait):
            created += len(self.flush(receiver_name, key, now))
        return created
