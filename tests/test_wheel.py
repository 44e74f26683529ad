"""The wheel on its own: built from the checkout, installed into a fresh venv outside it, run from elsewhere.

The installed tocsin must find its shipped rules, example configuration and unit file without the checkout.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import shared_path

pytestmark = pytest.mark.slow


def run(*command: str | Path, cwd: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "TOCSIN_CONFIG")}
    return subprocess.run([str(part) for part in command], input=stdin, capture_output=True, text=True, timeout=600,
                          cwd=cwd, env=env, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bin/ folder of a fresh venv with the checkout's wheel (and its dependencies) installed."""
    repo = Path(__file__).resolve().parent.parent
    work = tmp_path_factory.mktemp("wheel")
    built = run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", work / "dist", repo, cwd=work)
    assert built.returncode == 0, built.stderr
    [wheel] = (work / "dist").glob("tocsin-*.whl")
    assert run(sys.executable, "-m", "venv", work / "venv", cwd=work).returncode == 0
    bin_dir = work / "venv" / "bin"
    done = run(bin_dir / "python", "-m", "pip", "install", "--quiet", wheel, cwd=work)
    assert done.returncode == 0, done.stderr
    return bin_dir


def test_version_and_shipped_files(installed: Path, tmp_path: Path) -> None:
    from tocsin import __version__

    done = run(installed / "tocsin", "--version", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"tocsin {__version__}"
    where = run(installed / "python", "-c",
                "from tocsin import shipped; print(shipped.shipped_root()); print(shipped.unit_file().is_file())",
                cwd=tmp_path)
    root, unit_found = where.stdout.split()
    assert Path(root).is_relative_to(installed.parent), root  # inside the venv, not the checkout
    assert unit_found == "True"


def test_check_passes_on_the_shipped_config(installed: Path, tmp_path: Path) -> None:
    root = run(installed / "python", "-c", "from tocsin.shipped import example_config; print(example_config())",
               cwd=tmp_path).stdout.strip()
    done = run(installed / "tocsin", "check", "--config", root, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "feed(s) enabled" in done.stdout
    assert " 0 rule(s)" not in done.stdout


def test_init_then_check(installed: Path, tmp_path: Path) -> None:
    assert run(installed / "tocsin", "init", "--rules", "site", cwd=tmp_path).returncode == 0
    done = run(installed / "tocsin", "check", "--config", "site/tocsin.toml", cwd=tmp_path)
    assert done.returncode == 0, done.stderr


def test_match_reads_the_seed_article_with_the_shipped_rules(installed: Path, tmp_path: Path) -> None:
    seed = shared_path("examples", "seed-article.txt").read_text(encoding="utf-8")
    now = ("--now", "2020-03-01T12:00:00Z")
    done = run(installed / "tocsin", "match", "--json", *now, "-", cwd=tmp_path, stdin=seed)
    assert done.returncode == 0, done.stderr
    fired = [match["rule"] for match in json.loads(done.stdout)["matches"]]
    assert "buildup-forces" in fired
    # The same rules as the checkout's: the wheel shipped the whole pack.
    source = run(sys.executable, "-m", "tocsin", "match", "--json", *now, "-", cwd=tmp_path, stdin=seed)
    assert fired == [match["rule"] for match in json.loads(source.stdout)["matches"]]
