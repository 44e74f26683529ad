"""docs/architecture.md matches the tree, and imports run one way (read from the source with ast, lazy imports too)."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

DAEMON = REPO / "daemon"
DOCS = REPO / "docs"

LATER_STAGES = ("fetch", "parse", "store", "matching", "escalate", "deliver")
DRIVERS = ("pipeline", "runtime", "cli")
FORBIDDEN: dict[str, set[str]] = {
    # A stage imports the stages before it and the shared top-level modules, never what drives it.
    "config": {"alerts", *LATER_STAGES, *DRIVERS},
    "fetch": {"parse", "store", "matching", "escalate", "deliver", *DRIVERS},
    # Parse workers are processes of their own: they must not load httpx with the fetcher.
    "parse": {"fetch", "httpx", "store", "matching", "escalate", "deliver", *DRIVERS},
    "store": {"fetch", "parse", "matching", "escalate", "deliver", *DRIVERS},
    "matching": {"fetch", "parse", "store", "escalate", "deliver", *DRIVERS},
    "escalate": {"fetch", "parse", "deliver", *DRIVERS},
    "deliver": {"parse", "matching", *DRIVERS},
    "pipeline": {"runtime", "cli"},
    "runtime": {"cli"},
}


def imports_of(path: Path) -> set[str]:
    """The first component below tocsin of every tocsin import in the file (`httpx` for httpx itself)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "tocsin" and len(parts) > 1:
                found.add(parts[1])
            elif parts[0] == "httpx":
                found.add("httpx")
    return found


def owner(path: Path) -> str:
    """The subpackage a module belongs to, or its own name for a top-level module."""
    relative = path.relative_to(DAEMON)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def subpackages() -> list[str]:
    return sorted(path.parent.name for path in DAEMON.glob("*/__init__.py"))


def test_imports_run_one_way() -> None:
    wrong = []
    for path in sorted(DAEMON.rglob("*.py")):
        package = owner(path)
        imported = imports_of(path) - {package}
        forbidden = FORBIDDEN.get(package, set())
        if package not in ("runtime", "cli", "__main__"):
            forbidden = forbidden | {"runtime"}
        wrong += [f"{path.relative_to(REPO)} imports {name}" for name in sorted(imported & forbidden)]
    assert wrong == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "example.py"
    module.write_text("def later() -> None:\n    from tocsin.fetch.client import Fetcher\n    import httpx\n")
    assert imports_of(module) == {"fetch", "httpx"}


def test_a_parse_worker_loads_neither_httpx_nor_the_fetcher() -> None:
    probe = ("import sys, tocsin.parse.pool\n"
             "print(sorted(m for m in sys.modules if m.startswith(('httpx', 'tocsin.fetch'))))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]"


def diagram() -> str:
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    block = re.search(r"```\n(daemon/\n.*?)```", text, re.S)
    assert block, "docs/architecture.md has no ``` block starting with daemon/"
    return block.group(1)


def test_the_diagram_is_the_folder_list_of_daemon() -> None:
    listed = re.findall(r"^\s+([a-z_]+)/", diagram(), re.M)
    assert sorted(listed) == subpackages()


@pytest.mark.parametrize("doc", sorted(DOCS.glob("*.md")), ids=lambda path: path.name)
def test_every_daemon_path_a_doc_names_exists(doc: Path) -> None:
    named = set(re.findall(r"\bdaemon/[\w/.-]*\w", doc.read_text(encoding="utf-8")))
    assert sorted(path for path in named if not (REPO / path).exists()) == []
