"""`tocsin check`: the shipped example passes; a broken file gets every problem listed and exit 1."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def check(config: Path, cwd: Path, *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tocsin", "check", *options, "--config", str(config)],
                          capture_output=True, text=True, timeout=60, cwd=cwd, check=False)


def test_example_config_passes(repo_root: Path) -> None:
    result = check(repo_root / "config.example.toml", repo_root)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK" in result.stdout
    enabled = int(result.stdout.split("OK: ")[1].split(" feed")[0])
    assert enabled >= 10


def test_broken_config_lists_every_problem(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    config = tmp_path / "tocsin.toml"
    config.write_text(
        '[polling]\ninterval = "5 minutes"\nintervall = "3m"\n'
        '[http]\nmax_body_size = "lots"\n'
        '[[feeds]]\nname = "a"\nurl = "ftp://example.org/feed"\n'
        '[[feeds]]\nname = "b"\nurl = "https://example.org/feed"\ninterval = 300\n'
    )
    result = check(config, tmp_path)
    assert result.returncode == 1
    for expected in ("polling.interval", 'polling.intervall: unknown key (did you mean "interval"?)',
                     "http.max_body_size", "feeds[0].url", "feeds[1].interval"):
        assert expected in result.stderr, expected
    assert "5 problem(s) found" in result.stdout


def test_usage_errors_exit_ex_usage(capsys: pytest.CaptureFixture[str]) -> None:
    from tocsin.cli import main

    for argv in (["frobnicate"], ["check", "--no-such-option"]):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 64
        assert "error:" in capsys.readouterr().err


def signed_hook_config(tmp_path: Path, repo_root: Path, secret: Path, token: Path) -> Path:
    """A config with one webhook receiver whose signing secret and Authorization header come from files."""
    config = tmp_path / "tocsin.toml"
    config.write_text(f"""
state_dir = "{tmp_path / 'state'}"
[rules]
paths = ["{repo_root / 'rules'}"]
[[delivery.receivers]]
name = "ops"
kind = "webhook"
url = "https://hooks.example.org/tocsin"
secret = {{ file = "{secret}" }}
headers = {{ Authorization = {{ file = "{token}" }} }}
[delivery.default]
receivers = ["ops"]
""")
    return config


def test_check_reports_unreadable_secrets_without_revealing_readable_ones(tmp_path: Path, repo_root: Path) -> None:
    readable = tmp_path / "token"
    readable.write_text("s3cret-value\n")
    config = signed_hook_config(tmp_path, repo_root, tmp_path / "missing-secret", readable)
    done = check(config, tmp_path)
    assert done.returncode == 1
    assert "delivery.receivers[0]" in done.stderr and "missing-secret" in done.stderr
    assert "cannot read it" in done.stderr
    assert "Authorization" not in done.stderr and "s3cret-value" not in done.stdout + done.stderr

    (tmp_path / "signing-key").write_text("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
    config.write_text(config.read_text().replace(str(tmp_path / "missing-secret"), str(tmp_path / "signing-key")))
    done = check(config, tmp_path)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(("secret", "header", "expected"), [
    ("s3cret-value", "Bearer fine", "a webhook secret starts with whsec_"),
    ("whsec_***not-base64***", "Bearer fine", "after whsec_ is not base64"),
    ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "Bearer abc\r\nX-Injected: s3cret-value",
     "header Authorization contains a line break"),
])
def test_check_refuses_what_the_first_delivery_would(tmp_path: Path, repo_root: Path, secret: str, header: str,
                                                     expected: str) -> None:
    (tmp_path / "secret").write_text(secret)
    (tmp_path / "token").write_text(header)
    config = signed_hook_config(tmp_path, repo_root, tmp_path / "secret", tmp_path / "token")
    done = check(config, tmp_path)
    assert done.returncode == 1, done.stdout
    assert expected in done.stderr and "receiver ops" in done.stderr
    assert "s3cret-value" not in done.stdout + done.stderr


TEN_MISTAKES = """
[polling]
interval = "5 minutes"
intervall = "3m"
[http]
max_body_size = "lots"
[rules]
paths = ["rules"]
[[feeds]]
name = "wire"
url = "https://example.org/a"
[[feeds]]
name = "wire"
url = "ftp://example.org/b"
[[delivery.receivers]]
name = "ops"
kind = "webhok"
url = "https://hooks.example.org/ops"
[[delivery.receivers]]
name = "hook"
kind = "webhook"
url = "hooks.example.org/tocsin"
[[delivery.receivers]]
name = "signed"
kind = "webhook"
url = "https://hooks.example.org/signed"
secret = { file = "missing-secret" }
[[delivery.receivers]]
name = "unsigned"
kind = "webhook"
url = "https://hooks.example.org/unsigned"
secret = { file = "plain-secret" }
[[delivery.routes]]
severity = "high"
receivers = ["pager"]
[delivery.default]
receivers = ["ops", "nobody"]
"""
TEN_FIXES = {
    "polling.interval": '"5 minutes" is not a duration (write 30s',
    "polling.intervall": 'unknown key (did you mean "interval"?)',
    "http.max_body_size": '"lots" is not a size',
    "feeds[1].url": '"ftp://example.org/b" is not an http(s) URL',
    "feeds[1].name": 'feed name "wire" is used twice',
    "delivery.receivers[0].kind": 'unknown kind "webhok"; did you mean "webhook"?',
    "delivery.receivers[1].url": "is not an http(s) URL (write https://host/path)",
    "delivery.receivers[2].secret": "secret file missing-secret: cannot read it",
    "delivery.receivers[3]": "receiver unsigned: secret from file plain-secret: a webhook secret starts with whsec_",
    "delivery.routes[0].receivers": 'unknown receiver "pager" (known: hook, ops, signed, unsigned)',
    "delivery.default.receivers": 'unknown receiver "nobody"',
}
RULES_WITH_MISTAKES = """[[rule]]
id = "quiet"
title = "Quiet"
severity = "low"
any = ["ceasefire"]
examples = ["no truce today"]

[[rule]]
id = "shelling"
title = "Shelling"
severity = "hgh"
any = ["shelled"]

[[rule]]
id = "broken"
title = "Broken"
severity = "low"
regex = ["(unclosed"]
"""
RULE_FIXES = [(6, "quiet", 'example "no truce today" did not fire'), (11, "shelling", "bad severity 'hgh'"),
              (18, "broken", "regex: invalid regex")]


def test_every_mistake_of_config_and_rules_is_reported_in_one_run(tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "mistakes.toml").write_text(RULES_WITH_MISTAKES)
    (tmp_path / "plain-secret").write_text("s3cret-value\n")
    config = tmp_path / "tocsin.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n{TEN_MISTAKES}')
    done = check(config, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.splitlines()
    for key, fix in TEN_FIXES.items():
        assert any(line.startswith(f"error: {config}: {key}: {fix}") for line in lines), (key, done.stderr)
    rule_lines = [line for line in lines if "mistakes.toml" in line]
    # In the order of the file, although the failing example (line 6) is found after the other two.
    for (number, rule, fix), line in zip(RULE_FIXES, rule_lines, strict=True):
        assert line.startswith(f"error: rules/mistakes.toml:{number}: rule \"{rule}\": {fix}"), line
    assert f"{len(TEN_FIXES) + len(RULE_FIXES)} problem(s) found" in done.stdout
    assert "s3cret-value" not in done.stdout + done.stderr

    listed = check(config, tmp_path, "--json")
    assert listed.returncode == 1 and listed.stderr == ""
    problems = json.loads(listed.stdout)
    assert isinstance(problems, list)
    assert {(problem["key"], problem["file"]) for problem in problems if problem["key"]} == {
        (key, str(config)) for key in TEN_FIXES}
    assert [(problem["line"], problem["rule"], problem["severity"]) for problem in problems if problem["rule"]] == [
        (number, rule, "error") for number, rule, _ in RULE_FIXES]
    assert all(problem["message"] in line for problem, line in zip(problems, lines, strict=True))
    written = config.read_text().splitlines()
    for problem in problems:
        if problem["key"]:  # placed at the line that writes the key, or the table that holds it
            leaf = problem["key"].rsplit(".", 1)[-1]
            assert written[problem["line"] - 1].startswith(leaf if "[" not in leaf else "[[delivery.receivers]]")


def test_json_of_a_valid_configuration_is_an_empty_array(repo_root: Path) -> None:
    done = check(repo_root / "config.example.toml", repo_root, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_check_reads_the_daemons_rule_cache_and_never_a_stale_one(tmp_path: Path) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "rules").mkdir()
    rule = tmp_path / "rules" / "one.toml"
    rule.write_text('[[rule]]\nid = "shelling"\ntitle = "Shelling"\nseverity = "high"\nany = ["shelled"]\n'
                    'examples = ["the town was shelled"]\n')
    config = tmp_path / "tocsin.toml"
    config.write_text(f'state_dir = "{tmp_path / "state"}"\n[rules]\npaths = ["rules"]\n')
    assert check(config, tmp_path).returncode == 0
    assert (tmp_path / "state" / "rules.cache.json").exists()  # what `run` will find, as check compiled it
    assert check(config, tmp_path).returncode == 0
    rule.write_text(rule.read_text().replace('"high"', '"hgh"'))
    done = check(config, tmp_path)
    assert done.returncode == 1
    assert 'rules/one.toml:4: rule "shelling": bad severity' in done.stderr
