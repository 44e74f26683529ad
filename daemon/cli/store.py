"""`tocsin store migrate --to postgresql://...`: move the configuration's SQLite state into an empty PostgreSQL
database, so that instances with `store.url` set carry on where the single daemon stopped.

The daemon must be stopped (the state directory's lock is taken for the copy). The password, when the server
asks for one, comes from --password-file or libpq's own means (PGPASSWORD, ~/.pgpass), never from the URL.
Exit codes: 0 copied, 1 the copy failed (nothing is left in the target), 78 the configuration is invalid.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import ValidationError

from tocsin.cli.common import EX_CONFIG, EX_FAILURE, EX_OK, add_config_argument, print_problems
from tocsin.errors import ConfigError, StoreError


def register(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="store_action", metavar="ACTION", required=True)
    migrate = actions.add_parser("migrate", help="copy the SQLite state into an empty PostgreSQL database")
    add_config_argument(migrate)
    migrate.add_argument("--to", required=True, metavar="URL", help="the target, postgresql://user@host/database")
    migrate.add_argument("--password-file", type=Path, metavar="FILE", help="a file holding the password")
    migrate.set_defaults(handler=handle_migrate)


def handle_migrate(args: argparse.Namespace) -> int:
    from tocsin.config import load_config
    from tocsin.store.db import open_database
    from tocsin.store.lock import lock_state_dir
    from tocsin.store.postgres import open_postgres
    from tocsin.store.transfer import copy_state

    try:
        settings = load_config(getattr(args, "config", None))
        if settings.store.url is not None:
            raise ConfigError(["store.url is set: the configuration's state is PostgreSQL already; migrate from the "
                               "configuration of the SQLite daemon (without store.url)"])
        _check_target(args.to)
    except ConfigError as exc:
        print_problems(exc.problems)
        return EX_CONFIG
    try:
        password = args.password_file.read_text(encoding="utf-8").strip() if args.password_file else None
    except OSError as exc:
        print_problems([f"{args.password_file}: cannot read the password ({exc.strerror})"])
        return EX_FAILURE
    try:
        lock = lock_state_dir(settings.state_path)
        try:
            source = open_database(settings.database_path)
            try:
                target = open_postgres(args.to, password)
                try:
                    copied = copy_state(source, target)
                finally:
                    target.close()
            finally:
                source.close()
        finally:
            lock.release()
    except StoreError as exc:
        print_problems([str(exc)])
        return EX_FAILURE
    for entry in copied:
        if entry.rows:
            print(f"{entry.table}: {entry.rows} row(s)")
    print(f"copied {sum(entry.rows for entry in copied)} row(s) from {settings.database_path} to {target.name}; "
          "set store.url to it in the configuration of every instance")
    return EX_OK


def _check_target(url: str) -> None:
    """The checks of store.url (a PostgreSQL URL, no password in it); the URL itself is never repeated."""
    from tocsin.config.model import StoreConfig

    try:
        StoreConfig(url=url)
    except ValidationError as exc:
        raise ConfigError([f"--to {error['msg'].removeprefix('Value error, ')}" for error in exc.errors()]) from None
