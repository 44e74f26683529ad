"""`--json` means one JSON array in every command that lists state (README, "--json follows one convention")."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tocsin.cli import main

LISTINGS = [
    ["feeds"], ["alerts"], ["alerts", "--dead"], ["alerts", "--recent", "5"], ["silence", "list"],
    ["silence", "alerts"], ["situations"],
]


@pytest.mark.parametrize("command", LISTINGS, ids=" ".join)
def test_listing_commands_print_one_json_array(command: list[str], tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "tocsin.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[rules]\npaths = []\n'
                      '[[feeds]]\nname = "wire"\nurl = "https://wire.example/rss"\n', encoding="utf-8")
    assert main(["silence", "add", "--config", str(config), "--match", "tag=strike", "--for", "1h"]) == 0
    capsys.readouterr()
    assert main([*command, "--json", "--config", str(config)]) == 0
    printed = capsys.readouterr().out
    listed = json.loads(printed)
    assert isinstance(listed, list)
    expected = {"feeds": 1, "silence list": 1}.get(" ".join(command), 0)
    assert len(listed) == expected
    assert printed.startswith("[") and printed.count("\n") >= (1 if not expected else 3), "indented for people too"
