"""State in one SQLite database (WAL): connection and versioned migrations here, one module per table family.

Migrations are the files `migrations/NNNN_name.sql`, applied in order; `PRAGMA user_version` records the last
one applied. A migration is never edited once released: add the next number instead.
"""

from tocsin.store.db import Database, open_database

__all__ = ["Database", "open_database"]
