"""Shared fixtures. Real servers live in tests/servers/; this file only wires common paths."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture
def repo_root() -> Path:
    return REPO


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test when ../shared is not beside the checkout."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is not beside this checkout)")
    return path
