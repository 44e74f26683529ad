"""Log lines: journal priority prefixes, JSON for shippers, context fields, and secrets masked everywhere."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tocsin.config.secrets import secret_values
from tocsin.config.types import SecretRef
from tocsin.runtime.logs import SecretRedactor, setup_logging, stream_is_journal, syslog_priority


@pytest.fixture(autouse=True)
def restore_root_logger() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def _journal_env(stream: io.TextIOWrapper) -> str:
    status = os.fstat(stream.fileno())
    return f"{status.st_dev}:{status.st_ino}"


def test_priorities_follow_syslog() -> None:
    assert [syslog_priority(level) for level in (10, 20, 30, 40, 50)] == [7, 6, 4, 3, 2]


def test_journal_stream_gets_priority_prefix_on_every_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (tmp_path / "journal").open("w+") as stream:
        monkeypatch.setenv("JOURNAL_STREAM", _journal_env(stream))
        setup_logging("debug", "text", stream)
        log = logging.getLogger("tocsin.test")
        log.error("feed failed", extra={"feed": "UN News"})
        log.info("polled")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("crashed")
        stream.seek(0)
        lines = stream.read().splitlines()
    assert lines[0] == "<3>ERROR tocsin.test: feed failed"
    assert lines[1] == "<6>INFO tocsin.test: polled"
    traceback_lines = lines[2:]
    assert traceback_lines[0] == "<3>ERROR tocsin.test: crashed"
    assert len(traceback_lines) > 2
    assert all(line.startswith("<3>") for line in traceback_lines)
    assert traceback_lines[-1] == "<3>ValueError: boom"


def test_journal_stream_of_another_file_means_no_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (tmp_path / "other").open("w+") as other, (tmp_path / "stderr").open("w+") as stream:
        monkeypatch.setenv("JOURNAL_STREAM", _journal_env(other))
        assert not stream_is_journal(stream)
        setup_logging("info", "text", stream)
        logging.getLogger("tocsin.test").warning("plain")
        stream.seek(0)
        text = stream.read()
    assert "WARNING tocsin.test: plain" in text
    assert "<4>" not in text


def test_json_lines_carry_level_logger_and_context() -> None:
    stream = io.StringIO()
    setup_logging("info", "json", stream)
    logging.getLogger("tocsin.matching").warning("rule %s is slow", "heli-down", extra={"rule": "heli-down"})
    logging.getLogger("tocsin.matching").debug("hidden below the level")
    entries = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(entries) == 1
    entry = entries[0]
    assert entry["level"] == "warning"
    assert entry["logger"] == "tocsin.matching"
    assert entry["message"] == "rule heli-down is slow"
    assert entry["rule"] == "heli-down"
    assert entry["time"].endswith("+00:00")


def test_second_setup_replaces_the_handler_and_keeps_registered_secrets() -> None:
    first = io.StringIO()
    redactor = setup_logging("info", "text", first)
    redactor.add(["hunter2-secret"])
    second = io.StringIO()
    setup_logging("warning", "json", second)
    logging.getLogger("tocsin.test").warning("password is hunter2-secret")
    logging.getLogger("tocsin.test").info("below the new level")
    assert first.getvalue() == ""
    [entry] = [json.loads(line) for line in second.getvalue().splitlines()]
    assert entry["message"] == "password is ***"


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("signing with whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw failed", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ("headers {'Authorization': 'Bearer eyJhbGciOi.abc'}", "eyJhbGciOi.abc"),
        ("Authorization: Basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("GET https://alice:s3cretpw@feeds.example.org/rss", "s3cretpw"),
        ("GET https://example.org/feed?token=abcd1234&x=1", "abcd1234"),
        ("smtp login password=letmein1 rejected", "letmein1"),
    ],
)
def test_credential_shapes_are_masked(text: str, leaked: str) -> None:
    redacted = SecretRedactor().redact(text)
    assert leaked not in redacted
    assert redacted != text


def test_registered_secret_is_masked_in_message_arguments_and_traceback() -> None:
    stream = io.StringIO()
    redactor = setup_logging("info", "text", stream)
    redactor.add(["correct-horse-battery"])
    log = logging.getLogger("tocsin.test")
    log.info("connecting with %s", "correct-horse-battery")
    try:
        raise RuntimeError("auth failed for correct-horse-battery")
    except RuntimeError:
        log.exception("delivery failed")
    output = stream.getvalue()
    assert "correct-horse-battery" not in output
    assert "connecting with ***\n" in output
    assert output.endswith("RuntimeError: auth failed for ***\n")


def test_configured_secrets_are_collected_from_every_kind_of_reference(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "pw").write_text("from-a-file\n")
    (tmp_path / "creds").mkdir()
    (tmp_path / "creds" / "smtp").write_text("from-a-credential")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path / "creds"))
    monkeypatch.setenv("HOOK_SECRET", "from-the-env")
    refs = (
        SecretRef(file=tmp_path / "pw"), SecretRef(credential="smtp"), SecretRef(env="HOOK_SECRET"),
        SecretRef(value="inline-one"), SecretRef(file=tmp_path / "missing"),
    )
    assert configured_secrets_of(refs) == ["from-a-file", "from-a-credential", "from-the-env", "inline-one"]


def configured_secrets_of(refs: tuple[SecretRef, ...]) -> list[str]:
    from pydantic import BaseModel

    class Holder(BaseModel):
        refs: tuple[SecretRef, ...]

    return secret_values(Holder(refs=refs))


def test_json_context_fields_are_redacted_too() -> None:
    stream = io.StringIO()
    setup_logging("info", "json", stream).add(["correct-horse-battery"])
    logging.getLogger("tocsin.deliver").error("send failed", extra={"receiver": "ops correct-horse-battery"})
    [entry] = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert entry["receiver"] == "ops ***"


def test_json_under_journald_carries_the_priority_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with (tmp_path / "journal").open("w+") as stream:
        monkeypatch.setenv("JOURNAL_STREAM", _journal_env(stream))
        setup_logging("info", "json", stream)
        logging.getLogger("tocsin.test").error("feed failed", extra={"feed": "UN News"})
        stream.seek(0)
        line = stream.read().rstrip("\n")
    assert line.startswith("<3>{")
    assert json.loads(line[3:])["feed"] == "UN News"
