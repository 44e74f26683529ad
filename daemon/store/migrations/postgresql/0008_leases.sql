-- PostgreSQL form of 0007 (the SQLite file says what the leases are).
ALTER TABLE feed_state ADD COLUMN lease_holder TEXT, ADD COLUMN lease_until DOUBLE PRECISION;
ALTER TABLE deliveries ADD COLUMN lease_holder TEXT, ADD COLUMN lease_until DOUBLE PRECISION;
CREATE INDEX feed_state_due ON feed_state (next_poll_at);

CREATE TABLE leader (
    role TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch BIGINT NOT NULL,
    lease_until DOUBLE PRECISION NOT NULL
);
