-- Stories: reports of one event from several outlets. Times are Unix seconds (UTC). Ids start with the first
-- report's time in hex, so new stories append; the reports compared for wire copies (feeds, MinHash signatures)
-- and the rules that fired (newline-separated) live in the story's row.
CREATE TABLE stories (
    id TEXT PRIMARY KEY,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    title TEXT NOT NULL,
    words TEXT NOT NULL,
    entities TEXT NOT NULL,
    numbers TEXT NOT NULL,
    tags TEXT NOT NULL,
    sources INTEGER NOT NULL DEFAULT 1,
    reports INTEGER NOT NULL DEFAULT 1,
    report_feeds TEXT NOT NULL,
    report_signatures BLOB NOT NULL,
    rules TEXT NOT NULL DEFAULT ''
);

CREATE INDEX stories_by_age ON stories (first_at);

-- Inverted index from MinHash bands and places to stories, so finding candidates never scans the window.
CREATE TABLE story_keys (
    key INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    story_id TEXT NOT NULL,
    PRIMARY KEY (key, first_at, story_id)
) WITHOUT ROWID;

CREATE INDEX story_keys_by_age ON story_keys (first_at);

-- Situations: one signal per story and tag under each key (place:Idlib, actor:Turkey, rule:..., tag:...).
CREATE TABLE situation_signals (
    situation TEXT NOT NULL,
    tag TEXT NOT NULL,
    story_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    at INTEGER NOT NULL,
    item_title TEXT NOT NULL,
    item_link TEXT NOT NULL,
    item_feed TEXT NOT NULL,
    PRIMARY KEY (situation, tag, story_id)
) WITHOUT ROWID;

CREATE INDEX situation_signals_by_time ON situation_signals (situation, tag, at);
CREATE INDEX situation_signals_by_age ON situation_signals (at);

CREATE TABLE situations (
    situation TEXT PRIMARY KEY,
    level INTEGER NOT NULL,
    changed_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Decaying score of a ladder rule for a situation, updated as signals arrive: O(1) per signal.
CREATE TABLE situation_scores (
    rule TEXT NOT NULL,
    situation TEXT NOT NULL,
    score REAL NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (rule, situation)
) WITHOUT ROWID;

-- Last alert per scope and key, for re-alert intervals.
CREATE TABLE throttle (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;

CREATE TABLE silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    comment TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- Alerts decided but not sent: silenced (silence_id set) or throttled.
CREATE TABLE suppressed_alerts (
    alert_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    silence_id TEXT,
    at INTEGER NOT NULL,
    alert TEXT NOT NULL
);

CREATE INDEX suppressed_alerts_by_silence ON suppressed_alerts (silence_id);
CREATE INDEX suppressed_alerts_by_age ON suppressed_alerts (at);

-- Tracked deadlines; last_reminder_at is the reminder time already handled (or the time tracking began).
CREATE TABLE deadlines (
    id TEXT PRIMARY KEY,
    at INTEGER NOT NULL,
    text TEXT NOT NULL,
    title TEXT NOT NULL,
    noun TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    places TEXT NOT NULL,
    actors TEXT NOT NULL,
    tags TEXT NOT NULL,
    story_id TEXT,
    last_reminder_at INTEGER NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);

CREATE INDEX deadlines_open ON deadlines (done, at);

CREATE TABLE deadline_items (
    deadline_id TEXT NOT NULL,
    title TEXT NOT NULL,
    link TEXT NOT NULL,
    feed TEXT NOT NULL,
    published INTEGER,
    PRIMARY KEY (deadline_id, link)
) WITHOUT ROWID;
