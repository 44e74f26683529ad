-- PostgreSQL form of 0006 (the SQLite file says what it is for).
-- Steady levels (daemon/escalate/situations.py): a situation remembers the highest level it announced (so a
-- score that dips and recovers does not announce it again) and since when its rules have given it a lower level
-- (a fall waits for `escalation.fall_after`). Every level change is kept for `tocsin situations show`.
ALTER TABLE situations ADD COLUMN announced INTEGER NOT NULL DEFAULT 0;
ALTER TABLE situations ADD COLUMN falling_since BIGINT;
ALTER TABLE situations ADD COLUMN opened_at BIGINT;

CREATE TABLE situation_changes (
    situation TEXT NOT NULL,
    at BIGINT NOT NULL,
    level INTEGER NOT NULL,
    previous INTEGER NOT NULL,
    alert_id TEXT,
    reason TEXT NOT NULL,
    PRIMARY KEY (situation, at, level)
);

CREATE INDEX situation_changes_by_age ON situation_changes (at);
