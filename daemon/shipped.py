"""The files tocsin ships beside its code: the default rules, the example configuration and the systemd unit.

The repository's top-level `rules/`, `config.example.toml` and `systemd/` are the source of truth; the wheel's
build step (setup.py) copies them into the package as `tocsin/data/` with the same layout, so an installed tocsin
finds them without a checkout. Run from a checkout (or an editable install) there is no `data/`, and the files
are read where they are, one folder above the package.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def shipped_root() -> Path:
    """The folder holding `rules/`, `config.example.toml` and `systemd/`."""
    data = _PACKAGE / "data"
    return data if data.is_dir() else _PACKAGE.parent


def default_rules() -> Path:
    """The rules used when the configuration names none."""
    return shipped_root() / "rules"


def example_config() -> Path:
    return shipped_root() / "config.example.toml"


def unit_file() -> Path:
    return shipped_root() / "systemd" / "tocsin.service"
