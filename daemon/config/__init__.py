"""Loading the configuration: TOML file, then TOCSIN_* environment overrides; every problem reported at once.

Messages read `config.toml: feeds[3].interval: "5 minutes" is not a duration (write 30s, 5m, 2h)`.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import os
import tomllib
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from tocsin import redaction
from tocsin.config.consistency import consistency_problems
from tocsin.config.delivery import AnyReceiver, DeliveryConfig, Receiver
from tocsin.config.model import Settings
from tocsin.config.secrets import secret_values
from tocsin.config.types import SecretRef
from tocsin.errors import ConfigError, Problem

DEFAULT_CONFIG_PATH = Path("/etc/tocsin/tocsin.toml")

__all__ = ["DEFAULT_CONFIG_PATH", "ConfigRead", "Settings", "config_path", "load_config", "read_config", "secret_refs",
           "unreadable_secrets"]


def config_path(explicit: str | Path | None) -> Path:
    """--config, else $TOCSIN_CONFIG, else /etc/tocsin/tocsin.toml."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get("TOCSIN_CONFIG")
    return Path(from_env) if from_env else DEFAULT_CONFIG_PATH


@dataclass(frozen=True)
class ConfigRead:
    """One read of the configuration: the settings when they are valid, every problem when they are not."""

    path: Path
    data: dict[str, Any]
    """The file's tables."""
    settings: Settings | None
    problems: list[Problem]

    def sections(self) -> dict[str, BaseModel]:
        """The top-level tables (`delivery`, `rules`, ...) that are valid, each on its own when the whole is not:
        the checks that need validated values (secrets, rule paths) still run on them."""
        if self.settings is not None:
            return {name: value for name in Settings.model_fields
                    if isinstance(value := getattr(self.settings, name), BaseModel)}
        if not self.data and self.problems:
            return {}  # not even read
        valid: dict[str, BaseModel] = {}
        for name, field in Settings.model_fields.items():
            model = field.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                with contextlib.suppress(ValidationError):
                    valid[name] = model.model_validate(self.data[name]) if name in self.data else field.default
        return valid

    def receivers(self) -> list[tuple[int, AnyReceiver]]:
        """(index, receiver) of each receiver that is valid on its own."""
        delivery = self.sections().get("delivery")
        if isinstance(delivery, DeliveryConfig):
            return list(enumerate(delivery.receivers))
        written = self.data.get("delivery", {}).get("receivers") if isinstance(self.data.get("delivery"), dict) else []
        valid = []
        for index, entry in enumerate(written if isinstance(written, list) else []):
            with contextlib.suppress(ValidationError):
                valid.append((index, _receiver_adapter().validate_python(entry)))
        return valid


@functools.cache
def _receiver_adapter() -> TypeAdapter[AnyReceiver]:
    """Built on first use: only an invalid configuration's receivers are validated one by one."""
    return TypeAdapter(Receiver)


def load_config(explicit: str | Path | None = None) -> Settings:
    read = read_config(explicit)
    if read.settings is None:
        raise ConfigError(read.problems)
    return read.settings


def read_config(explicit: str | Path | None = None) -> ConfigRead:
    """The configuration at `explicit` (see config_path) with the TOCSIN_* overrides, validated, and every
    problem of it, of its fields and of names across them (config/consistency.py), in one list."""
    path = config_path(explicit)

    def unusable(message: str) -> ConfigRead:
        return ConfigRead(path, {}, None, [Problem(message, file=str(path))])

    try:
        raw = path.read_bytes()
    except OSError as exc:
        return unusable(f"cannot read the configuration ({exc.strerror}); pass --config PATH")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        return unusable(f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    except tomllib.TOMLDecodeError as exc:
        return unusable(f"not valid TOML: {exc}")
    data.pop("source", None)
    problems = []
    settings = None
    try:
        settings = _validated(data)
    except ValidationError as exc:
        problems += [Problem(message, file=str(path), key=key or None) for key, message in _render_problems(exc, data)]
    problems += [Problem(message, file=str(path), key=_render_location(location))
                 for location, message in consistency_problems(data)]
    if problems or settings is None:
        return ConfigRead(path, data, None, problems)
    # From here on every secret this configuration holds is masked in whatever the process stores, prints or logs.
    redaction.learn(secret_values(settings))
    return ConfigRead(path, data, settings.model_copy(update={"source": path.resolve()}), [])


def _validated(data: dict[str, Any]) -> Settings:
    """The file's data as Settings, with TOCSIN_* overrides when the environment has any (pydantic-settings is
    imported only then: it is a large part of start-up)."""
    # TOCSIN_CONFIG names the file and overrides no key.
    if any(name.upper().startswith("TOCSIN_") and name.upper() != "TOCSIN_CONFIG" for name in os.environ):
        from tocsin.config.environment import with_environment

        return with_environment(data)
    return Settings(**data)


def _render_problems(exc: ValidationError, data: dict[str, Any]) -> list[tuple[str, str]]:
    """(key, message) of each of pydantic's errors, worded for the person who wrote the file."""
    problems = []
    for error in exc.errors(include_url=False):
        location = _render_location(_without_tags(error["loc"], data))
        message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if error["type"] == "extra_forbidden":
            message = f"unknown key{_suggestion(error['loc'])}"
        elif error["type"] == "missing":
            message = "required key is missing"
        elif error["type"] == "union_tag_invalid":
            message = _unknown_tag(error)
            location = f"{location}.{_discriminator(error)}"
        elif error["type"] in ("literal_error", "enum"):
            message = f"{error.get('input')!r} is not allowed: {message.lower()}"
        problems.append((location, message))
    return problems


def _unknown_tag(error: Any) -> str:
    """`unknown kind "webhok"; did you mean "webhook"?` instead of pydantic's wording of a discriminated union."""
    context = error["ctx"]
    known = [tag.strip().strip("'") for tag in str(context["expected_tags"]).split(",")]
    close = difflib.get_close_matches(str(context["tag"]), known, n=1)
    hint = f'; did you mean "{close[0]}"?' if close else f" (known: {', '.join(known)})"
    return f'unknown {_discriminator(error)} "{context["tag"]}"{hint}'


def _discriminator(error: Any) -> str:
    """The key that chooses the union's member (pydantic quotes it: "'kind'")."""
    return str(error["ctx"]["discriminator"]).strip("'")


def _without_tags(loc: tuple[int | str, ...], data: Any) -> tuple[int | str, ...]:
    """The location without the member names pydantic puts after a discriminated union's place
    (`delivery.receivers[1].webhook.url` is the `url` of `delivery.receivers[1]`, whose kind is webhook)."""
    kept: list[int | str] = []
    for part in loc:
        if isinstance(data, dict) and part not in data and data.get("kind") == part:
            continue
        kept.append(part)
        data = _inner(data, part)
    return tuple(kept)


def _inner(data: Any, part: int | str) -> Any:
    if isinstance(data, dict):
        return data.get(str(part))
    if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
        return data[part]
    return None


def _render_location(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part.startswith(("function-", "tagged-union")):
            continue
        else:
            text += f".{part}" if text else part
    return text


def _suggestion(loc: tuple[int | str, ...]) -> str:
    """A 'did you mean' for a misspelled key, from the keys the model at that place knows."""
    model: Any = Settings
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        model = _field_model(model, str(part))
        if model is None:
            return ""
    known = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return f' (did you mean "{close[0]}"?)' if close else f" (known keys: {', '.join(known)})"


def _field_model(model: Any, name: str) -> Any:
    field = getattr(model, "model_fields", {}).get(name)
    if field is None:
        return None
    candidates = [field.annotation, *typing.get_args(field.annotation)]
    for candidate in candidates:
        for inner in (candidate, *typing.get_args(candidate)):
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                return inner
    return None


def unreadable_secrets(section: BaseModel, location: tuple[int | str, ...] = ()) -> list[tuple[str, str]]:
    """(key, `secret <where>: <why>`) of every secret a part of the configuration (at `location`) names that
    cannot be read now.

    Loading does not read secrets (a credential directory exists only under systemd); `tocsin check` does, so
    a missing file shows before the first delivery needs it. Messages say where a secret lives, never its value.
    """
    problems: list[tuple[str, str]] = []
    for where, secret in secret_refs(section, location):
        if secret.credential is not None and "CREDENTIALS_DIRECTORY" not in os.environ:
            continue  # only systemd can show it; outside the unit there is nothing to check against
        try:
            secret.resolve()
        except ConfigError as exc:
            problems += [(_render_location(where), problem) for problem in exc.problems]
    return problems


def secret_refs(value: Any, location: tuple[int | str, ...] = ()) -> list[tuple[tuple[int | str, ...], SecretRef]]:
    """(key path, reference) of every secret in a part of the configuration."""
    if isinstance(value, SecretRef):
        return [(location, value)]
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        return [found for name in fields for found in secret_refs(getattr(value, name), (*location, name))]
    if isinstance(value, tuple | list):
        return [found for index, item in enumerate(value) for found in secret_refs(item, (*location, index))]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in secret_refs(item, (*location, str(key)))]
    return []
