"""Choosing the store from the configuration: `store.url` names PostgreSQL, without it the SQLite file; the
password comes from outside the URL and is never shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from tocsin.config.model import Settings
from tocsin.errors import ConfigError
from tocsin.store.backend import open_store
from tocsin.store.db import SqliteDatabase


def settings(tmp_path: Path, **store: object) -> Settings:
    return Settings.model_validate({"state_dir": tmp_path / "state", "store": store})


def test_without_a_url_the_state_is_the_sqlite_file(tmp_path: Path) -> None:
    db = open_store(settings(tmp_path))
    assert isinstance(db, SqliteDatabase) and db.dialect == "sqlite"
    assert db.path == tmp_path / "state" / "tocsin.sqlite3"
    db.close()


def test_a_password_in_the_url_is_refused_without_showing_it(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"store\.password") as refused:
        settings(tmp_path, url="postgresql://tocsin:hunter2-secret@db.example/tocsin")
    assert "hunter2-secret" not in str(refused.value)


def test_a_url_of_another_scheme_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a postgresql:// URL"):
        settings(tmp_path, url="mysql://db.example/tocsin")


def test_an_inline_password_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="from a file, a systemd credential or an environment variable"):
        settings(tmp_path, url="postgresql://tocsin@db.example/tocsin", password={"value": "hunter2"})


def test_a_url_selects_postgresql_with_the_password_from_a_file(tmp_path: Path, postgres_url: str) -> None:
    pytest.importorskip("psycopg")
    password = tmp_path / "pg-password"
    password.write_text("s3cret-from-file\n", encoding="utf-8")
    db = open_store(settings(tmp_path, url=postgres_url, password={"file": str(password)}))
    assert db.dialect == "postgresql" and "s3cret" not in db.name
    assert db.connection.execute("SELECT count(*) FROM feed_state").fetchone()[0] == 0
    db.close()
    assert not (tmp_path / "state" / "tocsin.sqlite3").exists()


def test_an_unreadable_password_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ConfigError, match=f"file {missing}"):
        open_store(settings(tmp_path, url="postgresql://tocsin@127.0.0.1:1/tocsin", password={"file": str(missing)}))


def test_an_unreachable_server_is_a_store_error_naming_the_url_without_secrets(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    from tocsin.errors import StoreError

    password = tmp_path / "pg-password"
    password.write_text("s3cret-from-file\n", encoding="utf-8")
    with pytest.raises(StoreError, match="cannot connect to PostgreSQL") as failed:
        open_store(settings(tmp_path, url="postgresql://tocsin@127.0.0.1:1/tocsin?connect_timeout=2",
                            password={"file": str(password)}))
    assert "127.0.0.1:1" in str(failed.value) and "s3cret" not in str(failed.value)
