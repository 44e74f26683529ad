-- PostgreSQL form of 0005.
ALTER TABLE feed_state ADD COLUMN entry_digests BYTEA NOT NULL DEFAULT '\x';
ALTER TABLE feed_state ADD COLUMN entries_checked_at TEXT;
