-- Leases for several instances on one PostgreSQL database (daemon/store/leases.py): who holds a feed's poll or a
-- delivery and until when (Unix seconds, the database's clock), and the leader lease of the singleton jobs with
-- its fencing epoch. One SQLite file has one instance (the state lock), so there the columns stay empty.
ALTER TABLE feed_state ADD COLUMN lease_holder TEXT;
ALTER TABLE feed_state ADD COLUMN lease_until REAL;
ALTER TABLE deliveries ADD COLUMN lease_holder TEXT;
ALTER TABLE deliveries ADD COLUMN lease_until REAL;

CREATE TABLE leader (
    role TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    lease_until REAL NOT NULL
);
