-- The entries of each feed's last body that the pipeline took in, as packed 64-bit digests (8 bytes each), and
-- when every one of them last went through the seen store: the next changed body passes over these entries
-- instead of normalizing them again (daemon/parse/normalize.py), across restarts too.
ALTER TABLE feed_state ADD COLUMN entry_digests BLOB NOT NULL DEFAULT x'';
ALTER TABLE feed_state ADD COLUMN entries_checked_at TEXT;
