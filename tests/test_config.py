from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tocsin.config import load_config
from tocsin.errors import ConfigError
from tocsin.units import parse_duration, parse_size


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tocsin.toml"
    path.write_text(text)
    return path


def test_durations_and_sizes() -> None:
    assert parse_duration("90s") == timedelta(seconds=90)
    assert parse_duration("1h30m") == timedelta(minutes=90)
    assert parse_duration("7d") == timedelta(days=7)
    assert parse_size("15MiB") == 15 * 1024 * 1024
    assert parse_size("512KB") == 512_000
    with pytest.raises(ValueError, match="is not a duration"):
        parse_duration("5 minutes")
    with pytest.raises(ValueError, match="is not a size"):
        parse_size("lots")


def test_every_problem_reported_with_file_and_key(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[polling]
interval = "5 minutes"
intervall = "3m"
[[feeds]]
name = "a"
url = "ftp://example.org/feed"
[[feeds]]
name = "b"
url = "https://example.org/rss"
interval = 5
""",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    problems = caught.value.problems
    assert f'{path}: polling.interval: "5 minutes" is not a duration' in problems[0]
    assert any('polling.intervall: unknown key (did you mean "interval"?)' in p for p in problems)
    assert any("feeds[0].url" in p and "http(s)" in p for p in problems)
    assert any("feeds[1].interval: 5 has no unit" in p for p in problems)
    assert len(problems) == 4


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[polling]\ninterval = "5m"\n[http]\nconcurrency = 8\n')
    monkeypatch.setenv("TOCSIN_POLLING__INTERVAL", "2h")
    settings = load_config(path)
    assert settings.polling.interval == timedelta(hours=2)
    assert settings.http.concurrency == 8


def test_environment_override_is_validated_like_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[polling]\ninterval = "5 minutes"\n')
    with pytest.raises(ConfigError) as from_file:
        load_config(path)
    path = write(tmp_path, "")
    monkeypatch.setenv("tocsin_polling__interval", "5 minutes")  # names in any case
    with pytest.raises(ConfigError) as from_environment:
        load_config(path)
    assert from_environment.value.problems == from_file.value.problems


def test_pydantic_settings_is_imported_only_for_an_override(tmp_path: Path) -> None:
    path = write(tmp_path, '[polling]\ninterval = "5m"\n')
    probe = (f"import sys; from tocsin.config import load_config; s = load_config({str(path)!r}); "
             "print(s.polling.interval.total_seconds(), 'pydantic_settings' in sys.modules)")
    environment = {name: value for name, value in os.environ.items() if not name.upper().startswith("TOCSIN_")}

    def loaded(extra: dict[str, str]) -> list[str]:
        return subprocess.run([sys.executable, "-c", probe], env={**environment, **extra}, capture_output=True,
                              text=True, check=True, timeout=60).stdout.split()

    assert loaded({"TOCSIN_CONFIG": str(path)}) == ["300.0", "False"]
    assert loaded({"TOCSIN_POLLING__INTERVAL": "2h"}) == ["7200.0", "True"]


def test_config_path_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, 'state_dir = "/srv/tocsin"\n')
    monkeypatch.setenv("TOCSIN_CONFIG", str(path))
    assert load_config(None).state_dir == Path("/srv/tocsin")


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[polling\n")
    with pytest.raises(ConfigError, match=r"tocsin\.toml: not valid TOML"):
        load_config(path)


def test_unknown_receiver_kind_is_named_with_the_nearest_kind(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[[delivery.receivers]]\nname = "ops"\nkind = "webhok"\nurl = "https://example.org/x"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert caught.value.problems == [f'{config}: delivery.receivers[0].kind: unknown kind "webhok"; '
                                     'did you mean "webhook"?']


def test_problems_are_placed_at_the_line_of_their_key(tmp_path: Path) -> None:
    from tocsin.config import read_config

    path = write(tmp_path, """# comment [not a table]
[http]
internal_networks = [
  "10.0.0.0/8",  # a ] in a comment
  "bogus",
]
[[feeds]]
name = "a"
url = "https://example.org/a"
[[feeds]]
name = "b"  # [[feeds]]
url = "ftp://example.org/b"
tags = { x = "y" }
""")
    placed = {problem.key: problem.line for problem in read_config(path).problems}
    assert placed == {"http.internal_networks[1]": 3, "feeds[1].url": 12, "feeds[1].tags": 13}
