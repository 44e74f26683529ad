-- Feed health and conditional-GET validators, one row per configured feed name.
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
    items_total INTEGER NOT NULL DEFAULT 0
);

-- Items already passed on (or recorded silently): by id within a feed, and by canonical link across feeds.
CREATE TABLE seen_items (
    key BLOB PRIMARY KEY,
    seen_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX seen_items_by_age ON seen_items (seen_at);
