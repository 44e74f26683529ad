"""Shared fixtures and paths. Real servers live in tests/servers/; the fixtures here start them for a test."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.notify_socket import FakeNotifySocket
from tests.servers.feed_server import FeedServer, running_server
from tests.servers.postgres_server import Cluster, binaries, running_cluster

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


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One real PostgreSQL server for the session; tests that need it skip cleanly when it is not installed."""
    if binaries() is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def postgres_url(postgres_cluster: Cluster, request: pytest.FixtureRequest) -> str:
    """A fresh database of its own for each test."""
    name = "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
    return postgres_cluster.create_database(name)
