"""State in one SQLite database (WAL) or, with `store.url`, in PostgreSQL: the connection and versioned
migrations in db.py (postgres.py for PostgreSQL), one module per table family, SQL written once for both (sql.py).

Migrations are the files `migrations/NNNN_name.sql`, applied in order, the same versions for PostgreSQL in
`migrations/postgresql/`; `PRAGMA user_version` (SQLite) or `schema_version` (PostgreSQL) records the last one
applied. A migration is never edited once released: add the next number instead.
"""

from tocsin.store.db import Database, open_database

__all__ = ["Database", "open_database"]
