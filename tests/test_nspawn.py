"""tocsin under a real systemd: a Debian tree booted with systemd-nspawn, the built wheel installed into a venv under
/opt, the shipped unit started, checked, reloaded (well and badly) and stopped. Root only; see tests/systemd_tree.py.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable, Iterator

import pytest
import tomli_w

from tests.conftest import REPO
from tests.systemd_tree import Guest, build_wheels, cache_lock, ensure_tree, missing_requirements

pytestmark = [pytest.mark.systemd, pytest.mark.slow]

FEED = """<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Guest feed</title>
<link>http://127.0.0.1:8080/</link><description>served inside the container</description>
<item><guid>guest-1</guid><title>Talks resume in Geneva</title><link>http://127.0.0.1:8080/a/1</link></item>
</channel></rss>
"""

GUEST_CONFIG = {
    "polling": {"interval": "1h", "jitter": "1s"},
    "rules": {"paths": ["/etc/tocsin/rules"]},
    "feeds": [{"name": "guest-feed", "url": "http://127.0.0.1:8080/feed.xml"}],
}

INSTALL = """set -e
python3 -m venv /opt/tocsin/venv
/opt/tocsin/venv/bin/pip install --quiet --disable-pip-version-check --no-index --find-links /wheels tocsin
mkdir -p /etc/tocsin/credentials /srv/feeds
cp /staged/tocsin.toml /etc/tocsin/tocsin.toml
cp -r /staged/rules /etc/tocsin/rules
install -m 0600 /staged/credentials/* /etc/tocsin/credentials/
cp /staged/feed.xml /srv/feeds/feed.xml
cp /staged/tocsin.service /etc/systemd/system/tocsin.service
systemctl daemon-reload
systemd-run --quiet --unit=guest-feeds --property=DynamicUser=yes \
    python3 -m http.server 8080 --bind 127.0.0.1 --directory /srv/feeds
"""


BACKUP = ("import sqlite3; sqlite3.connect('/var/lib/tocsin/tocsin.sqlite3')"
          ".execute('VACUUM INTO ?', ['/root/tocsin-backup.sqlite3'])")

RESTORE = """set -e
cd /var/lib/private/tocsin
rm -f tocsin.sqlite3 tocsin.sqlite3-wal tocsin.sqlite3-shm
install -m 0600 -o "$(stat -c %u .)" -g "$(stat -c %g .)" /root/tocsin-backup.sqlite3 tocsin.sqlite3
"""


@pytest.fixture(scope="module")
def guest(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Guest]:
    reason = missing_requirements()
    if reason:
        pytest.skip(f"real-systemd test skipped: {reason}")
    work = tmp_path_factory.mktemp("nspawn")
    with cache_lock():
        tree = ensure_tree()
        wheels = build_wheels(work / "wheels")
    staged = work / "staged"
    staged.mkdir()
    shutil.copy(REPO / "systemd" / "tocsin.service", staged / "tocsin.service")
    shutil.copytree(REPO / "rules", staged / "rules")
    (staged / "tocsin.toml").write_text(tomli_w.dumps(GUEST_CONFIG))
    (staged / "feed.xml").write_text(FEED)
    (staged / "credentials").mkdir()
    (staged / "credentials" / "hook-secret").write_text("whsec_TestOnlyNotASecretAtAll0000\n")
    booted = Guest(tree, {wheels: "/wheels", staged: "/staged"}, work / "console.log")
    try:
        booted.wait_until_booted()
        booted.run("sh", "-c", INSTALL, timeout_s=180)
        yield booted
    finally:
        booted.poweroff()


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        time.sleep(0.1)


def http_get(guest: Guest, path: str) -> str:
    """GET from the health listener inside the guest (its network is private); python3 stands in for curl."""
    fetch = "import sys, urllib.request as u; sys.stdout.write(u.urlopen(sys.argv[1], timeout=10).read().decode())"
    return guest.run("python3", "-c", fetch, f"http://127.0.0.1:9464{path}").stdout


def journal(guest: Guest) -> list[dict[str, str]]:
    shown = guest.run("journalctl", "-u", "tocsin", "-o", "json", "--no-pager").stdout
    return [json.loads(line) for line in shown.splitlines() if line.strip()]


def messages(guest: Guest) -> list[str]:
    return [entry["MESSAGE"] for entry in journal(guest) if isinstance(entry.get("MESSAGE"), str)]


def test_tocsin_as_a_systemd_service(guest: Guest) -> None:
    # Type=notify: start returns once tocsin sent READY=1.
    guest.run("systemctl", "start", "tocsin", timeout_s=120)
    started = guest.unit_properties("tocsin", "ActiveState", "SubState", "StatusText", "MainPID", "WatchdogUSec",
                                    "NRestarts")
    assert started["ActiveState"] == "active", guest.run("journalctl", "-u", "tocsin", "--no-pager").stdout
    assert started["WatchdogUSec"] == "30s"
    assert "1 feed(s)" in started["StatusText"]

    wait_until(lambda: any('feed "guest-feed": 1 item(s)' in line for line in messages(guest)), "the feed is polled")
    health = json.loads(http_get(guest, "/healthz"))
    assert health["status"] == "ok"
    assert health["feeds"] == {"enabled": 1, "failing": 0, "failing_names": [], "gone": 0, "gone_names": []}
    exposition = http_get(guest, "/metrics")
    assert 'tocsin_polls_total{outcome="changed"} 1.0' in exposition
    wait_until(lambda: "last poll never" not in guest.unit_properties("tocsin", "StatusText")["StatusText"],
               "STATUS shows the poll")

    # A good reload: `systemctl reload` returns early; the unit shows `reload` until READY=1 comes back.
    guest.run("systemctl", "reload", "tocsin")
    wait_until(lambda: any("reload complete" in line for line in messages(guest)), "the reload completes")
    wait_until(lambda: guest.unit_properties("tocsin", "SubState")["SubState"] == "running", "the unit runs again")

    # A bad reload: the daemon keeps its rules, says so in STATUS, and logs the problem at error priority.
    guest.run("sh", "-c", "printf '[[rule]]\\nid = \"typo\"\\nseverty = \"high\"\\n' > /etc/tocsin/rules/zz-bad.toml")
    guest.run("systemctl", "reload", "tocsin")
    wait_until(lambda: guest.unit_properties("tocsin", "StatusText")["StatusText"].startswith("reload failed"),
               "STATUS says the reload failed")
    after = guest.unit_properties("tocsin", "ActiveState", "SubState", "MainPID", "NRestarts")
    assert (after["ActiveState"], after["SubState"]) == ("active", "running")
    assert (after["MainPID"], after["NRestarts"]) == (started["MainPID"], started["NRestarts"])
    errors = [entry for entry in journal(guest) if entry.get("PRIORITY") == "3"]
    assert any("zz-bad.toml" in entry["MESSAGE"] and "severty" in entry["MESSAGE"] for entry in errors)
    infos = [entry for entry in journal(guest)
             if entry.get("PRIORITY") == "6" and entry.get("_PID") == after["MainPID"]]
    assert any("reload complete" in entry["MESSAGE"] for entry in infos)
    assert not any(entry["MESSAGE"].startswith("<") for entry in infos)  # the prefix became the priority

    # Online backup as docs/operations.md says (the guest has no sqlite3 command: the Python form).
    guest.run("python3", "-c", BACKUP)

    # Stop: STOPPING=1, a clean exit 0 well within TimeoutStopSec.
    guest.run("systemctl", "stop", "tocsin", timeout_s=60)
    stopped = guest.unit_properties("tocsin", "ActiveState", "Result", "ExecMainStatus")
    assert stopped == {"ActiveState": "inactive", "Result": "success", "ExecMainStatus": "0"}

    # The broken rule file is still there: a start now exits 78, which systemd must not restart in a loop.
    assert guest.run("systemctl", "start", "tocsin", check=False, timeout_s=120).returncode != 0
    refused = guest.unit_properties("tocsin", "ActiveState", "SubState", "ExecMainStatus")
    assert refused == {"ActiveState": "failed", "SubState": "failed", "ExecMainStatus": "78"}
    refusals = [entry for entry in journal(guest)[-20:] if "zz-bad.toml" in entry.get("MESSAGE", "")]
    assert refusals and all(entry["PRIORITY"] == "3" for entry in refusals)
    guest.run("rm", "/etc/tocsin/rules/zz-bad.toml")

    # Restore as documented, over a database that is then gone: the feed's health comes back from the backup.
    guest.run("sh", "-c", RESTORE)
    guest.run("systemctl", "start", "tocsin", timeout_s=120)
    restored = guest.unit_properties("tocsin", "ActiveState", "StatusText")
    assert restored["ActiveState"] == "active"
    assert "1 feed(s): 1 ok" in restored["StatusText"]
    guest.run("systemctl", "stop", "tocsin", timeout_s=60)


WATCHDOG_DROP_IN = """[Service]
WatchdogSec=2s
RestartSec=1s
"""


def test_watchdog_keeps_a_live_daemon_and_restarts_a_frozen_one(guest: Guest) -> None:
    guest.run("mkdir", "-p", "/etc/systemd/system/tocsin.service.d")
    guest.run("sh", "-c", f"printf '{WATCHDOG_DROP_IN}' > /etc/systemd/system/tocsin.service.d/watchdog.conf")
    guest.run("systemctl", "daemon-reload")
    guest.run("systemctl", "start", "tocsin", timeout_s=120)
    first = guest.unit_properties("tocsin", "MainPID", "NRestarts", "WatchdogUSec")
    assert first["WatchdogUSec"] == "2s"
    # Twice the watchdog limit: only the pings from the event loop (every second here) keep it alive.
    time.sleep(4)
    alive = guest.unit_properties("tocsin", "ActiveState", "MainPID", "NRestarts")
    assert (alive["ActiveState"], alive["MainPID"], alive["NRestarts"]) == ("active", first["MainPID"], "0")

    # Frozen: no pings. systemd sends SIGABRT (and SIGCONT to thaw it); faulthandler prints where Python was.
    guest.run("kill", "-STOP", first["MainPID"])
    wait_until(lambda: any("Watchdog timeout" in line for line in messages(guest)), "systemd notices", 20)
    wait_until(lambda: guest.unit_properties("tocsin", "NRestarts")["NRestarts"] == "1", "the restart", 30)
    wait_until(lambda: guest.unit_properties("tocsin", "ActiveState")["ActiveState"] == "active", "active again", 30)
    assert any("Fatal Python error: Aborted" in line for line in messages(guest))
    guest.run("systemctl", "stop", "tocsin", timeout_s=60)
