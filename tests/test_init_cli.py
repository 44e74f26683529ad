"""`tocsin init`: a starter configuration that `tocsin check` accepts, an editable rules copy, no silent overwrite."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def tocsin(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tocsin", *args], capture_output=True, text=True, timeout=60,
                          cwd=cwd, check=False)


def test_init_writes_a_config_that_checks_with_the_shipped_rules(tmp_path: Path, repo_root: Path) -> None:
    done = tocsin("init", "site", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    config = tmp_path / "site" / "tocsin.toml"
    assert f"wrote {Path('site') / 'tocsin.toml'}" in done.stdout
    assert "tocsin check --config site/tocsin.toml" in done.stdout
    assert not (tmp_path / "site" / "rules").exists()
    assert config.read_text() == (repo_root / "config.example.toml").read_text()
    checked = tocsin("check", "--config", str(config), cwd=tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "escalation rule(s) loaded" in checked.stdout


def test_init_rules_copies_the_pack_and_points_the_config_at_it(tmp_path: Path, repo_root: Path) -> None:
    done = tocsin("init", str(tmp_path), "--rules", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    shipped = sorted(path.name for path in (repo_root / "rules").glob("*.toml"))
    assert sorted(path.name for path in (tmp_path / "rules").glob("*.toml")) == shipped
    assert '\npaths = ["rules"]\n' in (tmp_path / "tocsin.toml").read_text()
    # The copy is what the config uses: breaking it breaks check.
    (tmp_path / "rules" / "shootdown.toml").write_text("[[rule]]\nid = \n")
    checked = tocsin("check", "--config", str(tmp_path / "tocsin.toml"), cwd=tmp_path)
    assert checked.returncode == 1
    assert "shootdown.toml" in checked.stderr


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    config = tmp_path / "tocsin.toml"
    config.write_text("# mine\n")
    done = tocsin("init", str(tmp_path), cwd=tmp_path)
    assert done.returncode == 1
    assert f"{config} exists (--force overwrites it)" in done.stderr
    assert config.read_text() == "# mine\n"
    forced = tocsin("init", str(tmp_path), "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "[rules]" in config.read_text()
