"""A damaged state database is reported by every command, naming the file and what to do; a new one is private."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tocsin.cli import main
from tocsin.store import open_database


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "tocsin.toml"
    path.write_text(f'state_dir = "{tmp_path / "state"}"\n[health]\nenabled = false\n')
    return path


def _database(tmp_path: Path) -> Path:
    path = tmp_path / "state" / "tocsin.sqlite3"
    open_database(path).close()
    return path


COMMANDS = [["alerts"], ["feeds"], ["run", "--once"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_garbage_inside_the_file_is_a_clear_error(tmp_path: Path, config: Path, command: list[str],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    path = _database(tmp_path)
    size = path.stat().st_size
    assert size > 3 * 4096
    with path.open("r+b") as file:
        file.seek(size // 2 // 4096 * 4096)
        file.write(bytes(range(256)) * 16)
    assert main([*command, "--config", str(config)]) != 0
    error = capsys.readouterr().err
    assert f"{path}: the state database is unusable" in error and "restore a backup" in error
    assert "Traceback" not in error


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_an_emptied_database_is_not_taken_for_a_new_one(tmp_path: Path, config: Path, command: list[str],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    path = _database(tmp_path)
    for leftover in path.parent.glob("tocsin.sqlite3-*"):
        leftover.unlink()
    path.write_bytes(b"")
    assert main([*command, "--config", str(config)]) != 0
    error = capsys.readouterr().err
    assert f"{path}: the state database is empty, yet one existed here" in error
    assert path.stat().st_size == 0  # left as found, for whoever restores it


def test_the_state_directory_and_database_are_private(tmp_path: Path) -> None:
    path = _database(tmp_path)
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for made in [path, *path.parent.glob("tocsin.sqlite3*")]:
        assert stat.S_IMODE(made.stat().st_mode) & 0o077 == 0, made
    assert os.access(path, os.R_OK | os.W_OK)
