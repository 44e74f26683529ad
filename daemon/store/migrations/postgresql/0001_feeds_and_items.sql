-- PostgreSQL form of 0001 (the SQLite file beside this folder says what each table is for).
CREATE TABLE feed_state (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    last_status INTEGER,
    last_success_at TEXT,
    last_error_at TEXT,
    last_error TEXT,
    warning TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_poll_at TEXT,
    gone INTEGER NOT NULL DEFAULT 0,
    first_fetch_done INTEGER NOT NULL DEFAULT 0,
    items_total BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE seen_items (
    key BYTEA PRIMARY KEY,
    seen_at BIGINT NOT NULL
);

CREATE INDEX seen_items_by_age ON seen_items (seen_at);
