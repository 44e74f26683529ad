-- PostgreSQL form of 0010 (the SQLite file says what it is for).
CREATE TABLE instances (
    name TEXT PRIMARY KEY,
    started_at DOUBLE PRECISION NOT NULL,
    seen_at DOUBLE PRECISION NOT NULL
);
