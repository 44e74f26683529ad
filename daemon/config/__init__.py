"""Loading the configuration: TOML file, then TOCSIN_* environment overrides; every problem reported at once.

Messages read `config.toml: feeds[3].interval: "5 minutes" is not a duration (write 30s, 5m, 2h)`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import functools
import os
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from tocsin import redaction
from tocsin.config.consistency import Location, consistency_problems
from tocsin.config.delivery import AnyReceiver, DeliveryConfig, Receiver
from tocsin.config.lines import key_lines, line_of
from tocsin.config.model import Settings
from tocsin.config.secrets import secret_values
from tocsin.config.types import SecretRef
from tocsin.errors import ConfigError, Problem

DEFAULT_CONFIG_PATH = Path("/etc/tocsin/tocsin.toml")
_KEY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
"""How every key of the configuration is named; a union member's label in pydantic's locations is not."""
_MEMBER_MESSAGE = re.compile(r"^Input (?:should be|is not) (.+)$")

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
    lines: dict[Location, int] = field(default_factory=dict)
    """The line of each key the file writes (config/lines.py)."""

    def problem(self, location: Location, message: str) -> Problem:
        """A problem of the key at `location`, printed `file: key: message`, placed at its line when known."""
        return Problem(message, file=str(self.path), line=line_of(location, self.lines),
                       key=_render_location(location) or None)

    def sections(self) -> dict[str, BaseModel]:
        """The top-level tables (`delivery`, `rules`, ...) that are valid, each on its own when the whole is not:
        the checks that need validated values (secrets, rule paths) still run on them."""
        if self.settings is not None:
            return {name: value for name in Settings.model_fields
                    if isinstance(value := getattr(self.settings, name), BaseModel)}
        if not self.data and self.problems:
            return {}  # not even read
        valid: dict[str, BaseModel] = {}
        for name, declared in Settings.model_fields.items():
            model = declared.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                with contextlib.suppress(ValidationError):
                    valid[name] = model.model_validate(self.data[name]) if name in self.data else declared.default
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
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        return unusable(f"not UTF-8 text ({exc.reason} at byte {exc.start})")
    except tomllib.TOMLDecodeError as exc:
        return unusable(f"not valid TOML: {exc}")
    data.pop("source", None)
    try:
        settings = _validated(data)
    except ValidationError as exc:
        read = ConfigRead(path, data, None, [], key_lines(text))
        read.problems.extend(read.problem(location, message) for location, message in _render_problems(exc, data))
    else:
        read = ConfigRead(path, data, settings.model_copy(update={"source": path.resolve()}), [], key_lines(text))
    read.problems.extend(read.problem(location, message) for location, message in consistency_problems(data))
    if read.problems:
        # In the order of the file; keys it does not write (TOCSIN_* overrides) last.
        read.problems.sort(key=lambda problem: (problem.line is None, problem.line or 0))
        return dataclasses.replace(read, settings=None)
    assert read.settings is not None
    # From here on every secret this configuration holds is masked in whatever the process stores, prints or logs.
    redaction.learn(secret_values(read.settings))
    return read


def _validated(data: dict[str, Any]) -> Settings:
    """The file's data as Settings, with TOCSIN_* overrides when the environment has any (pydantic-settings is
    imported only then: it is a large part of start-up)."""
    # TOCSIN_CONFIG names the file and overrides no key.
    if any(name.upper().startswith("TOCSIN_") and name.upper() != "TOCSIN_CONFIG" for name in os.environ):
        from tocsin.config.environment import with_environment

        return with_environment(data)
    return Settings(**data)


def _render_problems(exc: ValidationError, data: dict[str, Any]) -> list[tuple[Location, str]]:
    """(key, message) of each of pydantic's errors, worded for the person who wrote the file; the errors of the
    members of a union at one key (a value that is neither an IPv4 nor an IPv6 network) as one."""
    problems: list[tuple[Location, str]] = []
    members: dict[Location, list[Any]] = {}
    for error in exc.errors(include_url=False):
        location = _without_labels(error["loc"], data)
        if len(location) < len(error["loc"]) and error["type"] != "union_tag_invalid" and \
                _MEMBER_MESSAGE.match(str(error["msg"])):
            if location not in members:
                problems.append((location, ""))
            members.setdefault(location, []).append(error)
            continue
        message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        if error["type"] == "extra_forbidden":
            message = f"unknown key{_suggestion(error['loc'])}"
        elif error["type"] == "missing":
            message = "required key is missing"
        elif error["type"] == "union_tag_invalid":
            message = _unknown_tag(error)
            location = (*location, _discriminator(error))
        elif error["type"] in ("literal_error", "enum"):
            message = f"{error.get('input')!r} is not allowed: {message.lower()}"
        problems.append((location, message))
    return [(location, message or _none_of(members[location])) for location, message in problems]


def _none_of(errors: list[Any]) -> str:
    """`'bogus' is not a valid IPv4 network, nor a valid IPv6 network`: what each member of a union wanted."""
    wanted = [match[1] for error in errors if (match := _MEMBER_MESSAGE.match(str(error["msg"])))]
    return f"{errors[0].get('input')!r} is not {', nor '.join(dict.fromkeys(wanted))}"


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


def _without_labels(loc: tuple[int | str, ...], data: Any) -> tuple[int | str, ...]:
    """The location without the member names pydantic puts after a union's place: a discriminated union's tag
    (`delivery.receivers[1].webhook.url` is the `url` of `delivery.receivers[1]`, whose kind is webhook) and the
    schema of each member of a plain one (`...headers.A.str`, `...[0].lax-or-strict[...]`), which is no key."""
    kept: list[int | str] = []
    for part in loc:
        tag = isinstance(data, dict) and part not in data and data.get("kind") == part
        scalar = data is not None and not isinstance(data, dict | list)  # a value has no keys: a label follows
        if tag or (isinstance(part, str) and (scalar or (isinstance(data, dict) and part not in data
                                                         and not _KEY_NAME.match(part)))):
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


def unreadable_secrets(section: BaseModel, location: Location = ()) -> list[tuple[Location, str]]:
    """(key, `secret <where>: <why>`) of every secret a part of the configuration (at `location`) names that
    cannot be read now.

    Loading does not read secrets (a credential directory exists only under systemd); `tocsin check` does, so
    a missing file shows before the first delivery needs it. Messages say where a secret lives, never its value.
    """
    problems: list[tuple[Location, str]] = []
    for where, secret in secret_refs(section, location):
        if secret.credential is not None and "CREDENTIALS_DIRECTORY" not in os.environ:
            continue  # only systemd can show it; outside the unit there is nothing to check against
        try:
            secret.resolve()
        except ConfigError as exc:
            problems += [(where, problem) for problem in exc.problems]
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
