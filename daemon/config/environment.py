"""TOCSIN_* environment overrides of the configuration file, read by pydantic-settings.

`TOCSIN_` plus the key path joined with `__` (`TOCSIN_POLLING__INTERVAL=2m`), names in any case, the environment
winning over the file. pydantic-settings and the settings class built on it cost about 60 ms of CPU to import, a
fifth of the start-up budget of a `run --once`, so `load_config` imports this module only when a TOCSIN_* variable
other than TOCSIN_CONFIG is set; without one the file's values are validated by `Settings` alone, with the same
fields, validators and messages.
"""

from __future__ import annotations

from typing import Any

from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from tocsin.config.model import Settings


class EnvironmentSettings(BaseSettings, Settings):
    """Settings whose values come from TOCSIN_* variables first, then from the file's data given to it."""

    model_config = SettingsConfigDict(
        env_prefix="TOCSIN_", env_nested_delimiter="__", extra="forbid", frozen=True, case_sensitive=False
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment first: TOCSIN_* overrides what the file says.
        return env_settings, init_settings


def with_environment(data: dict[str, Any]) -> Settings:
    """The file's data with the environment's overrides, validated (raises pydantic's ValidationError)."""
    return EnvironmentSettings(**data)
