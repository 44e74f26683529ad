"""Shared fixtures and paths. Real servers live in tests/servers/; the fixtures here start them for a test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notify_socket import FakeNotifySocket
from tests.servers.feed_server import FeedServer, running_server

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


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """A feed server on 127.0.0.1 whose feeds a test adds (and makes hostile) as it goes."""
    yield from running_server()


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[FakeNotifySocket]:
    """A datagram socket standing in for systemd's NOTIFY_SOCKET, recording what the daemon tells it."""
    fake = FakeNotifySocket(tmp_path / "notify")
    yield fake
    fake.close()
