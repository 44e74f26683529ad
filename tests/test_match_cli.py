"""`tocsin match` end to end: stdin text, feed files, URLs served on 127.0.0.1, the JSON contract, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests import terminal
from tests.matching_support import DEFAULT_RULES
from tests.servers.feed_server import FeedItem, FeedServer

SEED_TITLE = "Turkish-backed militants shoot down second Syrian helicopter in Idlib"
SEED_SUMMARY = "Ankara vowed to drive back the Syrian forces unless they withdraw by the end of the month."


def tocsin(*args: str, stdin: str = "", cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tocsin", "match", *args], input=stdin, capture_output=True,
                          text=True, timeout=60, cwd=cwd, check=False)


def test_stdin_json_has_the_documented_shape() -> None:
    done = tocsin("--rules", str(DEFAULT_RULES), "--json", "--now", "2020-02-17T09:00:00Z", "-",
                  stdin=f"{SEED_TITLE}\n{SEED_SUMMARY}\n")
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    document = json.loads(line)
    assert set(document) == {"id", "title", "link", "published", "matches"}
    assert document["title"] == SEED_TITLE
    assert document["published"] == "2020-02-17T09:00:00Z"
    by_rule = {match["rule"]: match for match in document["matches"]}
    shootdown = by_rule["shootdown-aircraft"]
    assert set(shootdown) == {"rule", "title", "severity", "tags", "evidence", "quantities", "deadline", "places",
                              "actors"}
    assert shootdown["severity"] == "high" and shootdown["tags"] == ["shootdown"]
    start = SEED_TITLE.index("shoot down")
    assert {"field": "title", "start": start, "end": start + 10, "text": "shoot down"} in shootdown["evidence"]
    assert shootdown["places"] == ["Idlib"]
    deadline = by_rule["deadline-ultimatum"]["deadline"]
    assert deadline == {"at": "2020-02-29T23:59:59Z", "text": "by the end of the month"}


def test_readable_report_highlights_evidence() -> None:
    done = tocsin("--rules", str(DEFAULT_RULES), "-", stdin=f"{SEED_TITLE}\n")
    assert done.returncode == 0
    assert "[HIGH] shootdown-aircraft" in done.stdout
    assert "»shoot down«" in done.stdout and "»helicopter«" in done.stdout


def test_nothing_matched_is_success_with_no_output_and_a_count_on_stderr(tmp_path: Path) -> None:
    done = tocsin("--rules", str(DEFAULT_RULES), "--json", "-", stdin="Local bakery wins award\n")
    assert (done.returncode, done.stdout) == (0, "")
    assert done.stderr.strip() == "0 of 1 item(s) matched"
    quiet = tmp_path / "quiet.txt"
    quiet.write_text("Village fete postponed\nRain expected.\n")
    done = tocsin("--rules", str(DEFAULT_RULES), str(quiet), "-", stdin="Local bakery wins award\n")
    assert "0 of 2 item(s) matched" in done.stderr
    done = tocsin("--rules", str(DEFAULT_RULES), "-", stdin=f"{SEED_TITLE}\n")
    assert "matched" not in done.stderr


def on_a_terminal(*args: str, env: dict[str, str]) -> str:
    """What `tocsin match` writes to a real pseudo-terminal (so stdout.isatty() is true)."""
    ran = terminal.on_a_terminal("match", *args, env=env, stdin=f"{SEED_TITLE}\n", timeout=60)
    assert ran.returncode == 0, ran.piped
    return ran.terminal


def test_colour_on_a_terminal_unless_no_color_or_never() -> None:
    base = {key: value for key, value in os.environ.items() if key != "NO_COLOR"}
    rules = ("--rules", str(DEFAULT_RULES))
    assert "\033[1;31mshoot down\033[0m" in on_a_terminal(*rules, "-", env=base)
    assert "\033[" not in on_a_terminal(*rules, "-", env={**base, "NO_COLOR": "1"})
    assert "»shoot down«" in on_a_terminal(*rules, "--color", "never", "-", env=base)
    # Explicit --color=always wins over NO_COLOR, and colours a pipe too.
    assert "\033[1;31m" in on_a_terminal(*rules, "--color", "always", "-", env={**base, "NO_COLOR": "1"})
    piped = tocsin(*rules, "--color", "always", "-", stdin=f"{SEED_TITLE}\n")
    assert "\033[1;31mshoot down" in piped.stdout


def test_feed_file_and_url(tmp_path: Path, server: FeedServer) -> None:
    feed = server.add_feed("world")
    feed.items.append(FeedItem(guid="a1", title="Shelling of Kharkiv continues", link="https://example.org/a1",
                               description="<p>Heavy <b>shelling</b> overnight</p>"))
    feed.items.append(FeedItem(guid="a2", title="Bakery wins award", link="https://example.org/a2"))
    path = tmp_path / "world.xml"
    path.write_bytes(feed.render())
    done = tocsin("--rules", str(DEFAULT_RULES), "--json", str(path), server.url("/feed/world"))
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(line["title"], line["matches"][0]["rule"]) for line in lines] == [
        ("Shelling of Kharkiv continues", "strike-air-artillery")
    ] * 2


def test_plain_text_file_is_read_like_stdin(tmp_path: Path) -> None:
    document = tmp_path / "article.txt"
    document.write_text(f"\ufeff\n{SEED_TITLE}\n{SEED_SUMMARY}\nMore of the article.\n", encoding="utf-8")
    done = tocsin("--rules", str(DEFAULT_RULES), "--json", "--now", "2020-02-17T09:00:00Z", str(document))
    assert done.returncode == 0, done.stderr
    [line] = done.stdout.splitlines()
    read = json.loads(line)
    assert read["title"] == SEED_TITLE
    by_rule = {match["rule"]: match for match in read["matches"]}
    assert by_rule["deadline-ultimatum"]["deadline"]["at"] == "2020-02-29T23:59:59Z"
    assert {"field": "summary", "text": "by the end of the month"}.items() <= \
        by_rule["deadline-ultimatum"]["evidence"][-1].items()


def test_markup_that_is_not_a_feed_still_fails(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("  <!doctype html><html><body>Helicopter shot down</body></html>")
    done = tocsin("--rules", str(DEFAULT_RULES), str(page))
    assert done.returncode == 1 and "page.html" in done.stderr


def test_unreadable_source_exits_1_but_reports_the_others(tmp_path: Path, server: FeedServer) -> None:
    done = tocsin("--rules", str(DEFAULT_RULES), "--json", str(tmp_path / "missing.xml"), server.url("/html"),
                  server.url("/status/500"), "-", stdin=f"{SEED_TITLE}\n")
    assert done.returncode == 1
    assert "missing.xml" in done.stderr and "/html" in done.stderr and "500" in done.stderr
    assert len(done.stdout.splitlines()) == 1


def test_invalid_rules_exit_78_with_every_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('[[rule]]\nid = "x"\ntitle = "X"\nseverty = "high"\nany = ["a"]\n')
    done = tocsin("--rules", str(tmp_path), "-", stdin="a\n")
    assert done.returncode == 78
    assert 'bad.toml:4: rule "x": unknown key "severty" (did you mean "severity"?)' in done.stderr
    assert "needs a severity" in done.stderr


def test_a_broken_regex_is_one_readable_problem_and_re2_stays_quiet(tmp_path: Path) -> None:
    (tmp_path / "bad.toml").write_text('[[rule]]\nid = "x"\ntitle = "X"\nseverity = "high"\nregex = "(a"\n')
    done = tocsin("--rules", str(tmp_path), "-", stdin="a\n")
    assert done.returncode == 78
    assert 'rule "x": regex: invalid regex \'(a\': missing ): ((a)' in done.stderr, done.stderr
    # Only tocsin's own line: no bytes repr, no copy from RE2's C++ logger.
    assert done.stderr.count("\n") == 1 and "b'" not in done.stderr
    assert "absl" not in done.stderr and "re2.cc" not in done.stderr
