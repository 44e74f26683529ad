"""A real systemd for tests: a cached Debian tree booted with systemd-nspawn (see docs/operations.md, "Testing").

The tree is built once with debootstrap from the mirror apt already uses on this machine and kept in
.cache/nspawn-tree (git-ignored). Each boot uses --volatile=overlay, so the tree stays clean; --private-network
keeps the guest off the network, so everything it installs comes from wheels built on the host.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / ".cache"
TREE = CACHE / "nspawn-tree"
SUITE = "bookworm"
# As few as will do: debootstrap is most of a fresh run. procps brings /bin/kill (ExecReload); python3 stands in
# for curl.
PACKAGES = ("systemd", "systemd-sysv", "dbus", "libnss-systemd", "python3", "python3-venv", "procps")
GUEST_PATH = "PATH=/usr/sbin:/usr/bin:/sbin:/bin"
FALLBACK_MIRROR = "http://deb.debian.org/debian"


def missing_requirements() -> str | None:
    """Why the real-systemd test cannot run here, or None when it can."""
    if os.geteuid() != 0:
        return "needs root (systemd-nspawn and debootstrap)"
    for tool in ("systemd-nspawn", "debootstrap", "nsenter"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install systemd-container debootstrap util-linux)"
    if sys.version_info[:2] != (3, 11):
        return f"wheels are built for the guest's Python 3.11, this is {sys.version.split()[0]}"
    return None


def apt_mirror() -> str:
    """The Debian mirror apt uses on this machine (the only network these machines have besides registries)."""
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for source in sources:
        if source.suffix not in ("", ".list", ".sources") or not source.is_file():
            continue
        text = source.read_text(errors="replace")
        for line in text.splitlines():
            deb_line = re.match(r"\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+" + SUITE + r"\s", line)
            if deb_line and "security" not in deb_line.group(1):
                return deb_line.group(1)
        for stanza in text.split("\n\n"):
            uris = re.search(r"^URIs:\s*(\S+)", stanza, re.MULTILINE)
            suites = re.search(r"^Suites:\s*(.+)$", stanza, re.MULTILINE)
            if uris and suites and SUITE in suites.group(1).split() and "security" not in uris.group(1):
                return uris.group(1)
    return FALLBACK_MIRROR


@contextlib.contextmanager
def cache_lock() -> Iterator[None]:
    """One builder at a time: other helpers' test runs on this machine share the cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with (CACHE / "nspawn.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_tree() -> Path:
    """The cached Debian tree, built on first use (about a minute); a half-built tree is never reused."""
    stamp = TREE / ".tocsin-tree-complete"
    wanted = " ".join(PACKAGES)
    if stamp.exists() and stamp.read_text() == wanted:
        return TREE
    building = TREE.with_name(TREE.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    shutil.rmtree(TREE, ignore_errors=True)
    building.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(building), apt_mirror()],
        check=True, capture_output=True, timeout=600,
    )
    # minbase ships no /etc/hosts; without it "localhost" does not resolve in the guest.
    (building / "etc" / "hosts").write_text("127.0.0.1 localhost\n::1 localhost ip6-localhost\n")
    (building / "etc" / "hostname").write_text("tocsin-test\n")
    building.rename(TREE)
    stamp.write_text(wanted)
    return TREE


def build_wheels(destination: Path) -> Path:
    """tocsin's wheel (fresh) plus wheels of its runtime dependencies (cached by the dependency list)."""
    destination.mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "--no-deps", "-w", str(destination), str(REPO)],
                   check=True, capture_output=True, timeout=300)
    dependencies = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    key = hashlib.sha256("\n".join(sorted(dependencies)).encode()).hexdigest()[:16]
    cached = CACHE / f"nspawn-wheels-{key}"
    if not (cached / ".complete").exists():
        shutil.rmtree(cached, ignore_errors=True)
        subprocess.run([*pip, "-w", str(cached), *dependencies], check=True, capture_output=True, timeout=600)
        (cached / ".complete").touch()
    for wheel in cached.glob("*.whl"):
        shutil.copy2(wheel, destination / wheel.name)
    return destination


class Guest:
    """One booted container; commands run inside it with nsenter on its PID 1."""

    def __init__(self, tree: Path, binds: dict[Path, str], console_log: Path) -> None:
        self.name = f"tocsin-test-{os.getpid()}"
        self.console_log = console_log
        command = [
            "systemd-nspawn", "-D", str(tree), f"--machine={self.name}", "--boot", "--register=no", "--keep-unit",
            "--console=pipe", "--volatile=overlay", "--private-network",
            *(f"--bind-ro={host}:{guest}" for host, guest in binds.items()),
        ]
        with console_log.open("wb") as console:
            self.nspawn = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=console, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.leader = self._find_leader()

    def _find_leader(self, timeout_s: float = 30.0) -> int:
        """The container's PID 1. nspawn first forks an intermediate child that exits, so a child counts only once
        it is PID 1 in its own PID namespace."""
        children = Path(f"/proc/{self.nspawn.pid}/task/{self.nspawn.pid}/children")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                raise RuntimeError(f"systemd-nspawn exited: {self.console_log.read_text(errors='replace')[-2000:]}")
            for pid in children.read_text().split() if children.exists() else []:
                if _namespace_pid(int(pid)) == 1:
                    return int(pid)
            time.sleep(0.05)
        raise RuntimeError("the container's PID 1 did not appear")

    def run(self, *command: str, check: bool = True, timeout_s: float = 60.0) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            ["nsenter", "-t", str(self.leader), "-a", "env", "-i", GUEST_PATH, "LANG=C.UTF-8", *command],
            capture_output=True, text=True, timeout=timeout_s,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"in the guest, {' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
            )
        return result

    def wait_until_booted(self, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        state = ""
        while time.monotonic() < deadline:
            state = self.run("systemctl", "is-system-running", check=False).stdout.strip()
            if state in ("running", "degraded"):
                return
            time.sleep(0.2)
        console = self.console_log.read_text(errors="replace")[-3000:]
        raise AssertionError(f"the guest did not finish booting (state {state!r}); console:\n{console}")

    def unit_properties(self, unit: str, *names: str) -> dict[str, str]:
        shown = self.run("systemctl", "show", unit, *(f"--property={name}" for name in names)).stdout
        return dict(line.split("=", 1) for line in shown.splitlines() if "=" in line)

    def poweroff(self, timeout_s: float = 30.0) -> None:
        if self.nspawn.poll() is None:
            # SIGTERM to nspawn powers the guest off cleanly (about 2 s).
            self.nspawn.send_signal(signal.SIGTERM)
            try:
                self.nspawn.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.nspawn.kill()
                self.nspawn.wait(10)


def _namespace_pid(pid: int) -> int | None:
    """The innermost PID of a process (the last NSpid field), or None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    return None
