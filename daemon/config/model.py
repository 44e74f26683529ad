"""The root of the configuration: one section per stage, every key overridable from TOCSIN_* variables (applied by
`config/environment.py` when such a variable is set)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from tocsin.config.delivery import DeliveryConfig, OutOfLineSecret
from tocsin.config.escalation import EscalationConfig
from tocsin.config.feeds import FeedConfig, HttpConfig, PollingConfig
from tocsin.config.types import Duration, StrictModel
from tocsin.shipped import default_rules


class RulesConfig(StrictModel):
    paths: tuple[Path, ...] = ()
    """Rule files or directories of *.toml files; relative paths are relative to the config file. None: the
    default rules shipped with tocsin."""
    watch: bool = False
    """Reload when a rule file changes (as on SIGHUP)."""

    def resolved(self, source: Path | None) -> tuple[Path, ...]:
        """The rule paths of a configuration read from `source`: relative to its folder, the shipped rules when
        none are given."""
        if not self.paths:
            return (default_rules(),)
        base = source.parent if source else Path.cwd()
        return tuple(path if path.is_absolute() else base / path for path in self.paths)


class StoreConfig(StrictModel):
    retention: Duration = timedelta(days=30)
    """Seen items older than this are forgotten."""
    synchronous: Literal["normal", "full"] = "full"
    """SQLite durability: `full` survives power loss at every commit, `normal` only loses the last moments."""
    url: str | None = None
    """`postgresql://user@host:5432/db?sslmode=...`: the state lives in PostgreSQL, shared by every instance given
    the same URL. None: the SQLite file in the state directory."""
    password: OutOfLineSecret | None = None
    """The PostgreSQL password, from a file, a systemd credential or the environment (never in `url`, which is
    shown in messages). libpq's own ~/.pgpass and PGPASSWORD work too."""
    lease: Duration = timedelta(seconds=60)
    """PostgreSQL: how long a feed poll, a delivery or the leader role stays claimed by an instance that stops
    answering; its work is taken over after this. Longer than a poll or a send takes (http.total_timeout)."""

    @field_validator("url")
    @classmethod
    def _postgresql_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("is not a postgresql:// URL (leave store.url out for the SQLite state file)")
        if parts.password is not None:
            raise ValueError('holds a password: give it as store.password = { file = "..." }, { credential = "..." } '
                             'or { env = "..." }, so that it is never shown with the URL')
        return url


class HealthConfig(StrictModel):
    enabled: bool = True
    listen: str = "127.0.0.1:9464"

    @field_validator("listen")
    @classmethod
    def _host_and_port(cls, listen: str) -> str:
        parse_listen(listen)
        return listen


def parse_listen(listen: str) -> tuple[str, int]:
    """`127.0.0.1:9464`, `[::1]:9464` or `:9464` (all interfaces) -> (host, port); port 0 picks a free one."""
    host, colon, port_text = listen.rpartition(":")
    if not colon or not port_text.isdigit() or int(port_text) > 65535:
        raise ValueError(f'"{listen}" is not HOST:PORT (write 127.0.0.1:9464 or [::1]:9464)')
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host or "0.0.0.0", int(port_text)  # noqa: S104 - ":PORT" is the operator's explicit choice


class LoggingConfig(StrictModel):
    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["text", "json"] = "text"


class Settings(StrictModel):
    state_dir: Path = Path("/var/lib/tocsin")
    """$STATE_DIRECTORY (set by systemd's StateDirectory=) wins over this."""
    polling: PollingConfig = PollingConfig()
    http: HttpConfig = HttpConfig()
    feeds: tuple[FeedConfig, ...] = ()
    rules: RulesConfig = RulesConfig()
    store: StoreConfig = StoreConfig()
    delivery: DeliveryConfig = DeliveryConfig()
    escalation: EscalationConfig = EscalationConfig()
    health: HealthConfig = HealthConfig()
    logging: LoggingConfig = LoggingConfig()
    source: Path | None = Field(default=None, exclude=True)
    """The file this was loaded from (set by the loader, not by users)."""

    @property
    def state_path(self) -> Path:
        systemd_dir = os.environ.get("STATE_DIRECTORY")
        if systemd_dir:
            return Path(systemd_dir.split(":")[0])
        return self.state_dir

    @property
    def database_path(self) -> Path:
        return self.state_path / "tocsin.sqlite3"

    @property
    def rule_paths(self) -> tuple[Path, ...]:
        return self.rules.resolved(self.source)

    def feed_interval(self, feed: FeedConfig) -> timedelta:
        return feed.interval or self.polling.interval
