"""A throwaway PostgreSQL cluster for the tests: initdb + pg_ctl on an ephemeral port and a unix socket.

initdb refuses to run as root, and CI runs the tests as root: there the cluster belongs to the `postgres` user
(Debian's package creates it) and its commands run through runuser. The directory is a fresh one in /tmp, not under
pytest's basetemp, because that one is private to root and the postgres user could not reach its socket."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def binaries() -> Path | None:
    """The folder of initdb and pg_ctl (Debian keeps them out of PATH), or None when PostgreSQL is absent."""
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    return Path(found).parent if found else None


@dataclass(frozen=True)
class Cluster:
    bindir: Path
    data: Path
    socket_dir: Path
    port: int
    as_user: str | None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://tocsin@127.0.0.1:{self.port}/{database}"

    def run(self, tool: str, *args: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.as_user:
            command = ["runuser", "-u", self.as_user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-w", "-t", "30", "-l", str(self.data / "log"), "start", "-o",
                 f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1 -c fsync=off "
                 "-c max_connections=200")

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-w", "-m", mode, "stop")

    def create_database(self, name: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def running_cluster() -> Iterator[Cluster]:
    bindir = binaries()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL is not installed (apt-get install postgresql)")
    as_user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="tocsin-pg-"))
    try:
        if as_user:
            shutil.chown(root, as_user)
        cluster = Cluster(bindir, root / "data", root, _free_port(), as_user)
        cluster.run("initdb", "-D", str(cluster.data), "-U", "tocsin", "-A", "trust", "--no-sync", "-E", "UTF8")
        cluster.start()
        try:
            yield cluster
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):
                cluster.stop("immediate")
    finally:
        shutil.rmtree(root, ignore_errors=True)
