"""Field types people write in the config: durations, sizes, and secrets that never live only inline."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, SecretStr, model_validator

from tocsin.errors import ConfigError
from tocsin.units import format_duration, parse_duration, parse_size


def _duration(value: Any) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError(f'{value} has no unit (write "{value}s" or "{value}m")')
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a duration (write 30s, 5m, 2h)")
    return parse_duration(value)


def _size(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{value!r} is not a size (write 15MiB)")
    return parse_size(value)


Duration = Annotated[timedelta, BeforeValidator(_duration), PlainSerializer(format_duration, return_type=str)]
ByteSize = Annotated[int, BeforeValidator(_size)]


class StrictModel(BaseModel):
    """Unknown keys are errors: a typo such as `intervall` must not be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(StrictModel):
    """Where a secret comes from: a file, a systemd credential, an environment variable, or (discouraged) inline.

    Written as `{ file = "/etc/tocsin/smtp-password" }`, `{ credential = "smtp-password" }` (read from
    `$CREDENTIALS_DIRECTORY`), `{ env = "SMTP_PASSWORD" }` or `{ value = "..." }`.
    """

    file: Path | None = None
    credential: str | None = None
    env: str | None = None
    value: SecretStr | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        given = [name for name in ("file", "credential", "env", "value") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of file, credential, env or value (prefer file or credential)")
        return self

    def describe(self) -> str:
        """Where the secret lives, never what it is: safe for logs."""
        if self.file is not None:
            return f"file {self.file}"
        if self.credential is not None:
            return f"credential {self.credential}"
        if self.env is not None:
            return f"environment variable {self.env}"
        return "inline value"

    def resolve(self) -> str:
        """The secret itself; raises ConfigError naming where it was looked for."""
        try:
            if self.file is not None:
                return self.file.read_text(encoding="utf-8").strip()
            if self.credential is not None:
                directory = os.environ.get("CREDENTIALS_DIRECTORY")
                if not directory:
                    raise ConfigError(
                        [f"secret {self.describe()}: $CREDENTIALS_DIRECTORY is not set (run under systemd "
                         "with LoadCredential=, or use file = ...)"]
                    )
                credential = Path(directory) / self.credential
                # The shipped unit's LoadCredential=tocsin:/etc/tocsin/credentials names each file tocsin_<file>.
                prefixed = Path(directory) / f"tocsin_{self.credential}"
                if not credential.exists() and prefixed.exists():
                    credential = prefixed
                return credential.read_text(encoding="utf-8").strip()
            if self.env is not None:
                if self.env not in os.environ:
                    raise ConfigError([f"secret {self.describe()}: the variable is not set"])
                return os.environ[self.env]
        except OSError as exc:
            raise ConfigError([f"secret {self.describe()}: cannot read it ({exc.strerror})"]) from exc
        assert self.value is not None
        return self.value.get_secret_value()
