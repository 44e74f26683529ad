"""Loading the configuration: TOML file, then TOCSIN_* environment overrides; every problem reported at once.

Messages read `config.toml: feeds[3].interval: "5 minutes" is not a duration (write 30s, 5m, 2h)`.
"""

from __future__ import annotations

import difflib
import os
import tomllib
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from tocsin import redaction
from tocsin.config.model import Settings
from tocsin.config.secrets import secret_values
from tocsin.config.types import SecretRef
from tocsin.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("/etc/tocsin/tocsin.toml")

__all__ = ["DEFAULT_CONFIG_PATH", "Settings", "config_path", "load_config", "secret_refs", "unreadable_secrets"]


def config_path(explicit: str | Path | None) -> Path:
    """--config, else $TOCSIN_CONFIG, else /etc/tocsin/tocsin.toml."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get("TOCSIN_CONFIG")
    return Path(from_env) if from_env else DEFAULT_CONFIG_PATH


def load_config(explicit: str | Path | None = None) -> Settings:
    path = config_path(explicit)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read the configuration ({exc.strerror}); pass --config PATH"]) from exc
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path}: not valid TOML: {exc}"]) from exc
    data.pop("source", None)
    try:
        settings = _validated(data)
    except ValidationError as exc:
        raise ConfigError([f"{path}: {problem}" for problem in _render_problems(exc)]) from None
    # From here on every secret this configuration holds is masked in whatever the process stores, prints or logs.
    redaction.learn(secret_values(settings))
    return settings.model_copy(update={"source": path.resolve()})


def _validated(data: dict[str, Any]) -> Settings:
    """The file's data as Settings, with TOCSIN_* overrides when the environment has any (pydantic-settings is
    imported only then: it is a large part of start-up)."""
    # TOCSIN_CONFIG names the file and overrides no key.
    if any(name.upper().startswith("TOCSIN_") and name.upper() != "TOCSIN_CONFIG" for name in os.environ):
        from tocsin.config.environment import with_environment

        return with_environment(data)
    return Settings(**data)


def _render_problems(exc: ValidationError) -> list[str]:
    problems = []
    for error in exc.errors(include_url=False):
        location = _render_location(error["loc"])
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
        problems.append(f"{location}: {message}" if location else message)
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


def unreadable_secrets(settings: Settings) -> list[str]:
    """Every secret the configuration names that cannot be read now, as `key.path: secret <where>: <why>`.

    Loading does not read secrets (a credential directory exists only under systemd); `tocsin check` does, so
    a missing file shows before the first delivery needs it. Messages say where a secret lives, never its value.
    """
    problems: list[str] = []
    for location, secret in secret_refs(settings, ()):
        if secret.credential is not None and "CREDENTIALS_DIRECTORY" not in os.environ:
            continue  # only systemd can show it; outside the unit there is nothing to check against
        try:
            secret.resolve()
        except ConfigError as exc:
            problems += [f"{_render_location(location)}: {problem}" for problem in exc.problems]
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
