-- PostgreSQL form of 0002.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    body TEXT NOT NULL
);

CREATE INDEX alerts_by_created ON alerts (created_at);

CREATE TABLE alert_groups (
    receiver TEXT NOT NULL,
    group_key TEXT NOT NULL,
    flush_at DOUBLE PRECISION,
    last_flush_at DOUBLE PRECISION,
    PRIMARY KEY (receiver, group_key)
);

CREATE INDEX alert_groups_due ON alert_groups (flush_at) WHERE flush_at IS NOT NULL;

CREATE TABLE group_members (
    receiver TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    group_key TEXT NOT NULL,
    queued_at DOUBLE PRECISION NOT NULL,
    notified_at DOUBLE PRECISION,
    PRIMARY KEY (receiver, alert_id)
);

CREATE INDEX group_members_waiting ON group_members (receiver, group_key) WHERE notified_at IS NULL;

CREATE TABLE deliveries (
    id BIGSERIAL PRIMARY KEY,
    receiver TEXT NOT NULL,
    alert_ids TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    created_at DOUBLE PRECISION NOT NULL,
    next_attempt_at DOUBLE PRECISION NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    finished_at DOUBLE PRECISION
);

CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_due_by_receiver ON deliveries (receiver, next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_finished ON deliveries (state, finished_at);
