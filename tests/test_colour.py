"""Colour in every command that uses it (feeds, alerts, silence, situations, replay; match has its own test): on a
terminal unless NO_COLOR is set, never with --color=never, on a pipe too with --color=always."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.terminal import on_a_terminal
from tests.test_situations_cli import state as situations_state

BASE_ENV = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "TOCSIN_CONFIG")}


def plain_config(tmp_path: Path) -> Path:
    config = tmp_path / "tocsin.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[rules]\npaths = []\n'
                      '[[feeds]]\nname = "wire"\nurl = "https://wire.example/rss"\n', encoding="utf-8")
    return config


def feeds(tmp_path: Path) -> list[str]:
    return ["feeds", "--config", str(plain_config(tmp_path))]


def alerts(tmp_path: Path) -> list[str]:
    return ["alerts", "--config", str(plain_config(tmp_path))]


def silence_list(tmp_path: Path) -> list[str]:
    config = str(plain_config(tmp_path))
    subprocess.run([sys.executable, "-m", "tocsin", "silence", "add", "--config", config, "--match", "tag=strike",
                    "--for", "1h"], check=True, capture_output=True, timeout=60, env=BASE_ENV)
    return ["silence", "list", "--config", config]


def situations(tmp_path: Path) -> list[str]:
    return ["situations", "--config", str(situations_state(tmp_path, store_toml=""))]  # "": SQLite in state_dir


def replay(_tmp_path: Path) -> list[str]:
    return ["replay", "--rules", str(REPO / "rules"), str(REPO / "tests" / "scenario" / "snapshots" / "01-aw.xml")]


COMMANDS: list[tuple[Callable[[Path], list[str]], str]] = [
    (feeds, "\033[1mFEED\033[0m"),  # the header; a feed never polled is "new", dim
    (alerts, "\033[1mRECEIVER\033[0m"),
    (silence_list, "\033[33mactive\033[0m"),  # a silence holding alerts back now
    (situations, "\033[1;31mcritical\033[0m"),
    (replay, "\033[1;31mhigh\033[0m"),  # the severity of each alert
]


def tocsin(*args: str, env: dict[str, str]) -> str:
    return subprocess.run([sys.executable, "-m", "tocsin", *args], capture_output=True, text=True, timeout=60,
                          env=env, check=True).stdout


def test_on_a_terminal_unless_no_color_and_never_into_a_pipe_by_default(tmp_path: Path) -> None:
    args = feeds(tmp_path)
    coloured = on_a_terminal(*args, env=BASE_ENV)
    assert coloured.returncode == 0, coloured.piped
    assert "\033[1mFEED\033[0m" in coloured.terminal and "\033[2mnew\033[0m" in coloured.terminal
    assert "\033[" not in on_a_terminal(*args, env={**BASE_ENV, "NO_COLOR": "1"}).terminal
    assert "\033[" not in tocsin(*args, env=BASE_ENV)


@pytest.mark.parametrize(("command", "painted"), COMMANDS, ids=lambda value: getattr(value, "__name__", ""))
def test_every_command_paints_with_always_and_never_moves_a_column(command: Callable[[Path], list[str]],
                                                                  painted: str, tmp_path: Path) -> None:
    args = command(tmp_path)
    forced = tocsin(*args, "--color", "always", env={**BASE_ENV, "NO_COLOR": "1"})
    assert painted in forced, "--color=always wins over NO_COLOR, on a pipe too"
    never = tocsin(*args, "--color", "never", env=BASE_ENV)
    assert "\033[" not in never
    # Without its escape sequences the coloured text is what --color=never prints (times left may tick on).
    assert re.sub(r"\d", "0", strip_sequences(forced)) == re.sub(r"\d", "0", never)


def strip_sequences(text: str) -> str:
    for sequence in ("\033[1;31m", "\033[33m", "\033[32m", "\033[2m", "\033[1m", "\033[0m"):
        text = text.replace(sequence, "")
    return text
