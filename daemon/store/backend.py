"""Which store a configuration names: PostgreSQL when `store.url` is set, else the SQLite file in the state
directory. Everything above the store receives a `Database` and never asks which one it is."""

from __future__ import annotations

from tocsin.config.model import Settings
from tocsin.store.db import Database, open_database


def open_store(settings: Settings) -> Database:
    """Open (creating and migrating as needed) the configured store; raises StoreError or ConfigError."""
    store = settings.store
    if store.url is None:
        return open_database(settings.database_path, store.synchronous)
    from tocsin.store.postgres import open_postgres  # psycopg loads only for a PostgreSQL store

    return open_postgres(store.url, store.password.resolve() if store.password else None,
                         lease_seconds=store.lease.total_seconds())
