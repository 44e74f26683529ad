-- The instances sharing a PostgreSQL store, each seen at its last heartbeat (daemon/store/sharing.py). One SQLite
-- file has one instance, so there the table stays empty.
CREATE TABLE instances (
    name TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    seen_at REAL NOT NULL
);
