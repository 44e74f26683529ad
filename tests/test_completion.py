"""`tocsin completion bash|zsh`: the scripts load in the real shells and complete from the argparse definitions."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def script(shell: str, tmp_path: Path) -> Path:
    done = subprocess.run([sys.executable, "-m", "tocsin", "completion", shell], capture_output=True, text=True,
                          timeout=60, check=True)
    path = tmp_path / f"tocsin.{shell}"
    path.write_text(done.stdout, encoding="utf-8")
    return path


def bash_completes(loaded: Path, *words: str) -> list[str]:
    """What bash offers for the last of `words` (the word being completed) after `tocsin` and the others."""
    line = " ".join(("tocsin", *words))
    program = (f'source "{loaded}"\n'
               "COMP_WORDS=(tocsin \"$@\"); COMP_CWORD=$#; COMP_LINE=\"$LINE\"; COMP_POINT=${#COMP_LINE}\n"
               '_shtab_tocsin tocsin "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"\n'
               'printf "%s\\n" "${COMPREPLY[@]}"\n')
    done = subprocess.run(["bash", "--norc", "--noprofile", "-c", program, "bash", *words], capture_output=True,
                          text=True, timeout=30, check=True, env={"LINE": line, "PATH": "/usr/bin:/bin"},
                          cwd=loaded.parent)
    return done.stdout.split()


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_bash_script_registers_and_completes_commands_options_and_files(tmp_path: Path) -> None:
    loaded = script("bash", tmp_path)
    registered = subprocess.run(["bash", "--norc", "-c", f'source "{loaded}" && complete -p tocsin'],
                                capture_output=True, text=True, timeout=30, check=True)
    assert "-F _shtab_tocsin tocsin" in registered.stdout
    assert bash_completes(loaded, "sil") == ["silence"]
    assert bash_completes(loaded, "silence", "") == ["add", "list", "expire", "alerts"]
    assert bash_completes(loaded, "match", "--co") == ["--color"]
    assert bash_completes(loaded, "match", "--color", "") == ["auto", "always", "never"]
    (tmp_path / "desk.toml").write_text("", encoding="utf-8")
    assert bash_completes(loaded, "feeds", "--config", "de") == ["desk.toml"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_the_zsh_script_parses_and_registers_with_compdef(tmp_path: Path) -> None:
    loaded = script("zsh", tmp_path)
    assert loaded.read_text(encoding="utf-8").startswith("#compdef tocsin")
    subprocess.run(["zsh", "-n", str(loaded)], check=True, timeout=30)
    program = f'autoload -Uz compinit; compinit -u -D; eval "$(<{loaded})"; print -r -- $_comps[tocsin]'
    done = subprocess.run(["zsh", "-f", "-c", program], capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout.strip() == "_shtab_tocsin"
    listed = loaded.read_text(encoding="utf-8")
    assert "silence:'add, list or expire silences'" in listed, "zsh lists each command with its one-line help"
