"""Shared fixtures and paths. Real servers live in tests/servers/; the fixtures here start them for a test."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.notify_socket import FakeNotifySocket
from tests.servers.feed_server import FeedServer, running_server
from tests.servers.postgres_server import Cluster, binaries, running_cluster
from tocsin.store import Database, open_database

StoreOpener = Callable[[], Database]
"""Opens the test's store (the same one at every call), as a restarted daemon or a command would."""

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session", autouse=True)
def _user_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The commands the tests run keep their caches (`check`'s rule costs) in a directory of the session, not in
    the user's: a test sees only what the suite itself measured."""
    before = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("user-cache"))
    yield
    if before is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = before


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


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreOpener]:
    """The store tests run against both backends: an SQLite file, and a fresh PostgreSQL database (skipped when
    PostgreSQL or psycopg is absent). Stores left open by the test are closed after it."""
    opened: list[Database] = []
    if request.param == "sqlite":
        def opener() -> Database:
            opened.append(open_database(tmp_path / "state.db"))
            return opened[-1]
    else:
        pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'tocsin[postgres]')")
        from tocsin.store.postgres import open_postgres

        url = request.getfixturevalue("postgres_url")

        def opener() -> Database:
            opened.append(open_postgres(url))
            return opened[-1]
    yield opener
    for db in opened:
        db.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_toml(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The `[store]` table of a config file for each backend (empty for SQLite: the state directory's file); the
    PostgreSQL one takes its password from a file, as an operator would."""
    if request.param == "sqlite":
        return ""
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'tocsin[postgres]')")
    url = request.getfixturevalue("postgres_url")
    password = tmp_path / "pg-password"
    password.write_text("not-needed-by-trust-auth\n", encoding="utf-8")
    return f'\n[store]\nurl = "{url}"\npassword = {{ file = "{password}" }}\n'
