-- Every alert decided, by its stable id, with its JSON form (the webhook body). Times are Unix seconds.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    severity TEXT NOT NULL,
    created_at REAL NOT NULL,
    body TEXT NOT NULL
) WITHOUT ROWID;

CREATE INDEX alerts_by_created ON alerts (created_at);

-- Groups of alerts per receiver (Alertmanager-style grouping, and digests): when the waiting members go out.
CREATE TABLE alert_groups (
    receiver TEXT NOT NULL,
    group_key TEXT NOT NULL,
    flush_at REAL,
    last_flush_at REAL,
    PRIMARY KEY (receiver, group_key)
) WITHOUT ROWID;

CREATE INDEX alert_groups_due ON alert_groups (flush_at) WHERE flush_at IS NOT NULL;

-- An alert routed to a receiver: waiting in its group (notified_at NULL), or when it last went out (repeat_interval).
CREATE TABLE group_members (
    receiver TEXT NOT NULL,
    alert_id TEXT NOT NULL,
    group_key TEXT NOT NULL,
    queued_at REAL NOT NULL,
    notified_at REAL,
    PRIMARY KEY (receiver, alert_id)
) WITHOUT ROWID;

CREATE INDEX group_members_waiting ON group_members (receiver, group_key) WHERE notified_at IS NULL;

-- The outbox: one message to one receiver, carrying one or more alerts, until delivered or dead.
CREATE TABLE deliveries (
    id INTEGER PRIMARY KEY,
    receiver TEXT NOT NULL,
    alert_ids TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    finished_at REAL
);

CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_due_by_receiver ON deliveries (receiver, next_attempt_at) WHERE state = 'pending';
CREATE INDEX deliveries_finished ON deliveries (state, finished_at);
