-- PostgreSQL form of 0011 (the SQLite file says what it is for).
ALTER TABLE situation_signals ADD COLUMN capital INTEGER NOT NULL DEFAULT 0;
