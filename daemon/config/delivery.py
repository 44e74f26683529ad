"""Receivers, routes and grouping (see docs/delivery.md).

```toml
[[delivery.receivers]]
name = "ops"
kind = "webhook"
url = "https://hooks.example.org/tocsin"
secret = { file = "/etc/tocsin/ops-webhook-secret" }

[[delivery.routes]]
severity = "high"
receivers = ["ops"]

[delivery.default]
receivers = ["console"]
```
"""

from __future__ import annotations

import functools
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, field_validator, model_validator

from tocsin.alert_kinds import AlertKind
from tocsin.config.types import Duration, SecretRef, StrictModel
from tocsin.severity import Severity

GroupLabel = Literal["kind", "rule", "severity", "story", "situation", "place", "tag", "..."]
"""What alerts of one group share; "..." puts every alert in a group of its own."""

_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_RECEIVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_RESERVED_HEADERS = frozenset({"content-type", "content-length", "host", "webhook-id", "webhook-timestamp",
                               "webhook-signature"})


class DigestSchedule(StrictModel):
    """Collect the alerts routed to this receiver and send them as one message each day at `at` local time."""

    at: str = "07:00"
    timezone: str = "UTC"
    min_severity: Severity = Severity.INFO
    """Alerts below this severity are left out of the digest."""

    @field_validator("at")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not _CLOCK_TIME.match(value):
            raise ValueError(f'"{value}" is not a time of day (write "07:00", 24-hour clock)')
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f'"{value}" is not a known time zone (write an IANA name such as "Europe/Berlin")'
            ) from None
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, minute = self.at.split(":")
        return int(hour), int(minute)


class ReceiverBase(StrictModel):
    name: str
    digest: DigestSchedule | None = None
    """When set, alerts are collected and sent as one digest on schedule instead of one by one."""

    @field_validator("name")
    @classmethod
    def _simple_name(cls, value: str) -> str:
        if not _RECEIVER_NAME.match(value):
            raise ValueError(f'"{value}" is not a receiver name (letters, digits, "-", "_", "."; no spaces)')
        return value

    @property
    def one_message_per_alert(self) -> bool:
        """Whether a group of alerts goes out as one message per alert (the tocsin webhook body is one alert)."""
        return False


def _http_url_value(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # The URL itself is not quoted: a chat webhook's URL carries its token.
        raise ValueError("is not an http(s) URL (write https://host/path)")
    return url


def _not_inline(secret: SecretRef) -> SecretRef:
    if secret.value is not None:
        raise ValueError("a token or key comes from a file, a systemd credential or an environment variable "
                         '(write { file = "/etc/tocsin/..." }, { credential = "..." } or { env = "..." })')
    return secret


HttpUrl = Annotated[str, AfterValidator(_http_url_value)]
OutOfLineSecret = Annotated[SecretRef, AfterValidator(_not_inline)]
"""A token or key: from a file, a systemd credential or the environment, never written in the config itself."""


class ConsoleReceiver(ReceiverBase):
    """Prints alerts readably to standard output."""

    kind: Literal["console"]


class WebhookReceiver(ReceiverBase):
    """POSTs alerts as JSON, signed as Standard Webhooks says when a secret is given."""

    kind: Literal["webhook"]
    url: HttpUrl
    secret: SecretRef | None = None
    """A Standard Webhooks key, `whsec_<base64>`; every request is signed with it."""
    format: Literal["tocsin", "slack", "discord"] = "tocsin"
    """`slack` is also accepted by Mattermost and Rocket.Chat incoming webhooks."""
    timeout: Duration = timedelta(seconds=10)
    headers: dict[str, str | SecretRef] = Field(default_factory=dict)
    """Extra request headers; a value may be a secret, e.g. `Authorization = { file = "/etc/tocsin/token" }`."""
    ca_file: Path | None = None
    """Trust this CA bundle for the receiver's certificate (a private CA); the system's store otherwise."""

    @field_validator("headers")
    @classmethod
    def _header_names(cls, headers: dict[str, str | SecretRef]) -> dict[str, str | SecretRef]:
        for name in headers:
            if not _HEADER_NAME.match(name):
                raise ValueError(f'"{name}" is not a valid HTTP header name')
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f'header "{name}" is set by tocsin itself and cannot be overridden')
        return headers

    @property
    def one_message_per_alert(self) -> bool:
        return self.format == "tocsin"


class EmailReceiver(ReceiverBase):
    """Sends mail over SMTP (implicit TLS, STARTTLS, or plain for a local relay)."""

    kind: Literal["email"]
    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    """Defaults to 465 for implicit TLS, 587 for STARTTLS, 25 without TLS."""
    tls: Literal["implicit", "starttls", "none"] = "starttls"
    username: str | None = None
    password: SecretRef | None = None
    sender: str = Field(alias="from")
    to: tuple[str, ...] = Field(min_length=1)
    timeout: Duration = timedelta(seconds=30)
    ca_file: Path | None = None
    """Trust this CA bundle for the server's certificate (a private relay); the system's store otherwise."""

    @field_validator("sender", "to")
    @classmethod
    def _addresses(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        for address in (value,) if isinstance(value, str) else value:
            if "@" not in address or any(ch in address for ch in "\r\n<>,; "):
                raise ValueError(f'"{address}" is not a plain e-mail address (write name@example.org)')
        return value

    @model_validator(mode="after")
    def _password_with_username(self) -> EmailReceiver:
        if (self.username is None) != (self.password is None):
            raise ValueError("username and password go together: give both for SMTP AUTH, or neither")
        return self

    @property
    def effective_port(self) -> int:
        return self.port or {"implicit": 465, "starttls": 587, "none": 25}[self.tls]


class ServiceReceiver(ReceiverBase):
    """A receiver that speaks a chat, push or incident service's own HTTP API; its secrets never live inline."""

    timeout: Duration = timedelta(seconds=10)
    ca_file: Path | None = None
    """Trust this CA bundle for the service's certificate (a self-hosted server); the system's store otherwise."""


class AlertmanagerReceiver(ServiceReceiver):
    """POSTs alerts to an Alertmanager's /api/v2/alerts, so its routing, inhibition and silences apply."""

    kind: Literal["alertmanager"]
    url: HttpUrl
    """The Alertmanager's base URL, e.g. `http://alertmanager:9093` (tocsin adds /api/v2/alerts)."""
    token: OutOfLineSecret | None = None
    """Sent as `Authorization: Bearer ...` (an Alertmanager behind an authenticating proxy)."""
    firing_for: Duration = timedelta(hours=24)
    """An alert fires this long (its endsAt); a situation's alert ends earlier when the situation falls."""
    resend: Duration = timedelta(minutes=30)
    """Firing alerts are posted again this often until their endsAt, as Alertmanager expects of its clients."""



class NtfyReceiver(ServiceReceiver):
    """Publishes to an ntfy topic: phone and desktop push without an account."""

    kind: Literal["ntfy"]
    url: HttpUrl = "https://ntfy.sh"
    topic: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    token: OutOfLineSecret | None = None
    """An ntfy access token (tk_...) for a protected topic."""



class TelegramReceiver(ServiceReceiver):
    """Sends a message to a Telegram chat through a bot (Bot API sendMessage)."""

    kind: Literal["telegram"]
    token: OutOfLineSecret
    """The bot token from @BotFather."""
    chat_id: int | str
    """The numeric chat id (negative for groups) or "@channelusername"."""
    api_url: HttpUrl = "https://api.telegram.org"



class MatrixReceiver(ServiceReceiver):
    """Sends an m.notice to a Matrix room (client-server API) with a bot account's access token."""

    kind: Literal["matrix"]
    homeserver: HttpUrl
    room: str = Field(pattern=r"^![^:\s]+:\S+$")
    """The room id (`!abc123:example.org`; Element shows it under Settings > Advanced)."""
    access_token: OutOfLineSecret



class TeamsReceiver(ServiceReceiver):
    """Posts an Adaptive Card to a Microsoft Teams channel through a Workflows incoming webhook."""

    kind: Literal["teams"]
    url: OutOfLineSecret
    """The workflow's URL: it carries its own signature, so it is a secret like a token."""



class PagerDutyReceiver(ServiceReceiver):
    """Triggers (and resolves) PagerDuty incidents through the Events API v2."""

    kind: Literal["pagerduty"]
    routing_key: OutOfLineSecret
    """The integration key of an Events API v2 integration on a service."""
    url: HttpUrl = "https://events.pagerduty.com/v2/enqueue"

    @property
    def one_message_per_alert(self) -> bool:
        return True  # an event per alert: each has its own dedup_key, and is retried alone



HttpServiceReceiver = (AlertmanagerReceiver | NtfyReceiver | TelegramReceiver | MatrixReceiver | TeamsReceiver
                       | PagerDutyReceiver)
AnyReceiver = ConsoleReceiver | WebhookReceiver | EmailReceiver | HttpServiceReceiver
Receiver = Annotated[AnyReceiver, Field(discriminator="kind")]


class GroupingConfig(StrictModel):
    """Alertmanager's grouping: a new group waits `group_wait`, then sends again at most every `group_interval`;
    the same alert is not sent to a receiver again within `repeat_interval`."""

    group_by: tuple[GroupLabel, ...] = ("rule",)
    group_wait: Duration = timedelta(seconds=30)
    group_interval: Duration = timedelta(minutes=5)
    repeat_interval: Duration = timedelta(hours=4)


class GroupingOverride(StrictModel):
    group_by: tuple[GroupLabel, ...] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None

    def apply(self, base: GroupingConfig) -> GroupingConfig:
        """The base grouping with this route's overrides (computed once per configuration, not per alert)."""
        return _with_overrides(self, base)


@functools.lru_cache(maxsize=256)
def _with_overrides(override: GroupingOverride, base: GroupingConfig) -> GroupingConfig:
    given = {name: getattr(override, name) for name in GroupingConfig.model_fields}
    return base.model_copy(update={name: value for name, value in given.items() if value is not None})


class DefaultRoute(GroupingOverride):
    """Catches every alert that no route matched."""

    receivers: tuple[str, ...] = Field(min_length=1)


class Route(GroupingOverride):
    """Selects alerts; every condition given must hold (within a list, any entry may)."""

    receivers: tuple[str, ...] = Field(min_length=1)
    severity: Severity | None = None
    """Minimum severity."""
    max_severity: Severity | None = None
    kinds: tuple[AlertKind, ...] = ()
    tags: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    places: tuple[str, ...] = ()
    """Compared without regard to case."""
    continue_: bool = Field(default=False, alias="continue")
    """Also try the routes after this one when it matched."""

    @model_validator(mode="after")
    def _severities_overlap(self) -> Route:
        if self.severity and self.max_severity and self.severity > self.max_severity:
            raise ValueError(f"severity {self.severity} is above max_severity {self.max_severity}; the route can "
                             "never match")
        return self


class RetryConfig(StrictModel):
    base: Duration = timedelta(seconds=10)
    max: Duration = timedelta(minutes=30)


class DeliveryConfig(StrictModel):
    receivers: tuple[Receiver, ...] = ()
    routes: tuple[Route, ...] = ()
    default: DefaultRoute | None = None
    grouping: GroupingConfig = GroupingConfig()
    retry: RetryConfig = RetryConfig()
    max_age: Duration = timedelta(hours=48)
    """A delivery still failing this long after it was decided goes to the dead-letter list."""
    keep: Duration = timedelta(days=30)
    """Delivered and dead deliveries, and alerts, are forgotten after this long."""
    concurrency: int = Field(default=16, ge=1, le=256)
    """Deliveries in flight at once, over all receivers."""
    per_receiver: int = Field(default=4, ge=1, le=64)
    """Deliveries in flight at once to one receiver, so a slow or failing one cannot starve the others."""

    def receiver(self, name: str) -> AnyReceiver | None:
        return next((receiver for receiver in self.receivers if receiver.name == name), None)
