-- PostgreSQL form of 0003; the SQLite file says what each table is for. A story keeps a rowid of its own here:
-- the in-memory story index refers to stories by it, as it does to SQLite rowids.
CREATE TABLE stories (
    rowid BIGSERIAL UNIQUE,
    id TEXT PRIMARY KEY,
    first_at BIGINT NOT NULL,
    last_at BIGINT NOT NULL,
    title TEXT NOT NULL,
    words TEXT NOT NULL,
    entities TEXT NOT NULL,
    numbers TEXT NOT NULL,
    tags TEXT NOT NULL,
    sources INTEGER NOT NULL DEFAULT 1,
    reports INTEGER NOT NULL DEFAULT 1,
    report_feeds TEXT NOT NULL,
    report_signatures BYTEA NOT NULL,
    rules TEXT NOT NULL DEFAULT ''
);

CREATE INDEX stories_by_age ON stories (first_at);

-- Inverted index from MinHash bands and places to stories, so finding candidates never scans the window.
CREATE TABLE story_keys (
    key BIGINT NOT NULL,
    first_at BIGINT NOT NULL,
    story_id TEXT NOT NULL,
    PRIMARY KEY (key, first_at, story_id)
);

CREATE INDEX story_keys_by_age ON story_keys (first_at);

-- Situations: one signal per story and tag under each key (place:Idlib, actor:Turkey, rule:..., tag:...).
CREATE TABLE situation_signals (
    situation TEXT NOT NULL,
    tag TEXT NOT NULL,
    story_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    at BIGINT NOT NULL,
    item_title TEXT NOT NULL,
    item_link TEXT NOT NULL,
    item_feed TEXT NOT NULL,
    PRIMARY KEY (situation, tag, story_id)
);

CREATE INDEX situation_signals_by_time ON situation_signals (situation, tag, at);
CREATE INDEX situation_signals_by_age ON situation_signals (at);

CREATE TABLE situations (
    situation TEXT PRIMARY KEY,
    level INTEGER NOT NULL,
    changed_at BIGINT NOT NULL
);

-- Decaying score of a ladder rule for a situation, updated as signals arrive: O(1) per signal.
CREATE TABLE situation_scores (
    rule TEXT NOT NULL,
    situation TEXT NOT NULL,
    score DOUBLE PRECISION NOT NULL,
    at BIGINT NOT NULL,
    PRIMARY KEY (rule, situation)
);

-- Last alert per scope and key, for re-alert intervals.
CREATE TABLE throttle (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (scope, key)
);

CREATE TABLE silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    comment TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Alerts decided but not sent: silenced (silence_id set) or throttled.
CREATE TABLE suppressed_alerts (
    alert_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    silence_id TEXT,
    at BIGINT NOT NULL,
    alert TEXT NOT NULL
);

CREATE INDEX suppressed_alerts_by_silence ON suppressed_alerts (silence_id);
CREATE INDEX suppressed_alerts_by_age ON suppressed_alerts (at);

-- Tracked deadlines; last_reminder_at is the reminder time already handled (or the time tracking began).
CREATE TABLE deadlines (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    text TEXT NOT NULL,
    title TEXT NOT NULL,
    noun TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    places TEXT NOT NULL,
    actors TEXT NOT NULL,
    tags TEXT NOT NULL,
    story_id TEXT,
    last_reminder_at BIGINT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX deadlines_open ON deadlines (done, at);

CREATE TABLE deadline_items (
    deadline_id TEXT NOT NULL,
    title TEXT NOT NULL,
    link TEXT NOT NULL,
    feed TEXT NOT NULL,
    published BIGINT,
    PRIMARY KEY (deadline_id, link)
);
