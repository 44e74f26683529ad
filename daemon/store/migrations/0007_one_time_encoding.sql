-- One encoding for every time in the state file: Unix seconds (UTC) as REAL. feed_state kept ISO 8601 text, the
-- outbox REAL seconds, seen items and escalation INTEGER seconds; a reader had to know which table it was in, and
-- the PostgreSQL dialect gets one column type for all of them. SQLite cannot change a column's type in place, so
-- each table is rebuilt (stories keep their rowids: the in-memory story index refers to them).
-- feed_state's text was written by datetime.isoformat() on aware UTC times: whole seconds from strftime('%s'),
-- and the six digits after a '.' (when present) added exactly.
CREATE TABLE feed_state_new (
    name TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    body_hash TEXT,
    last_status INTEGER,
    last_success_at REAL,
    last_error_at REAL,
    last_error TEXT,
    warning TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    next_poll_at REAL,
    gone INTEGER NOT NULL DEFAULT 0,
    first_fetch_done INTEGER NOT NULL DEFAULT 0,
    items_total INTEGER NOT NULL DEFAULT 0,
    entry_digests BLOB NOT NULL DEFAULT x'',
    entries_checked_at REAL
);

INSERT INTO feed_state_new SELECT
    name, url, etag, last_modified, body_hash, last_status,
    CAST(strftime('%s', last_success_at) AS REAL)
        + CASE WHEN substr(last_success_at, 20, 1) = '.' THEN CAST('0' || substr(last_success_at, 20, 7) AS REAL)
          ELSE 0 END,
    CAST(strftime('%s', last_error_at) AS REAL)
        + CASE WHEN substr(last_error_at, 20, 1) = '.' THEN CAST('0' || substr(last_error_at, 20, 7) AS REAL)
          ELSE 0 END,
    last_error, warning, consecutive_failures,
    CAST(strftime('%s', next_poll_at) AS REAL)
        + CASE WHEN substr(next_poll_at, 20, 1) = '.' THEN CAST('0' || substr(next_poll_at, 20, 7) AS REAL)
          ELSE 0 END,
    gone, first_fetch_done, items_total, entry_digests,
    CAST(strftime('%s', entries_checked_at) AS REAL)
        + CASE WHEN substr(entries_checked_at, 20, 1) = '.' THEN CAST('0' || substr(entries_checked_at, 20, 7) AS REAL)
          ELSE 0 END
FROM feed_state;

DROP TABLE feed_state;
ALTER TABLE feed_state_new RENAME TO feed_state;

CREATE TABLE seen_items_new (
    key BLOB PRIMARY KEY,
    seen_at REAL NOT NULL
) WITHOUT ROWID;

INSERT INTO seen_items_new SELECT key, seen_at FROM seen_items;
DROP TABLE seen_items;
ALTER TABLE seen_items_new RENAME TO seen_items;
CREATE INDEX seen_items_by_age ON seen_items (seen_at);

CREATE TABLE stories_new (
    id TEXT PRIMARY KEY,
    first_at REAL NOT NULL,
    last_at REAL NOT NULL,
    title TEXT NOT NULL,
    words TEXT NOT NULL,
    entities TEXT NOT NULL,
    numbers TEXT NOT NULL,
    tags TEXT NOT NULL,
    sources INTEGER NOT NULL DEFAULT 1,
    reports INTEGER NOT NULL DEFAULT 1,
    report_feeds TEXT NOT NULL,
    report_signatures BLOB NOT NULL,
    rules TEXT NOT NULL DEFAULT '',
    index_keys TEXT NOT NULL DEFAULT '[]'
);

INSERT INTO stories_new (rowid, id, first_at, last_at, title, words, entities, numbers, tags, sources, reports,
                         report_feeds, report_signatures, rules, index_keys)
SELECT rowid, id, first_at, last_at, title, words, entities, numbers, tags, sources, reports, report_feeds,
       report_signatures, rules, index_keys FROM stories;
DROP TABLE stories;
ALTER TABLE stories_new RENAME TO stories;
CREATE INDEX stories_by_age ON stories (first_at);

CREATE TABLE situation_signals_new (
    situation TEXT NOT NULL,
    tag TEXT NOT NULL,
    story_id TEXT NOT NULL,
    rule TEXT NOT NULL,
    at REAL NOT NULL,
    item_title TEXT NOT NULL,
    item_link TEXT NOT NULL,
    item_feed TEXT NOT NULL,
    PRIMARY KEY (situation, tag, story_id)
) WITHOUT ROWID;

INSERT INTO situation_signals_new SELECT situation, tag, story_id, rule, at, item_title, item_link, item_feed
FROM situation_signals;
DROP TABLE situation_signals;
ALTER TABLE situation_signals_new RENAME TO situation_signals;
CREATE INDEX situation_signals_by_time ON situation_signals (situation, tag, at);
CREATE INDEX situation_signals_by_age ON situation_signals (at);

CREATE TABLE situations_new (
    situation TEXT PRIMARY KEY,
    level INTEGER NOT NULL,
    changed_at REAL NOT NULL,
    announced INTEGER NOT NULL DEFAULT 0,
    falling_since REAL,
    opened_at REAL
) WITHOUT ROWID;

INSERT INTO situations_new SELECT situation, level, changed_at, announced, falling_since, opened_at FROM situations;
DROP TABLE situations;
ALTER TABLE situations_new RENAME TO situations;

CREATE TABLE situation_changes_new (
    situation TEXT NOT NULL,
    at REAL NOT NULL,
    level INTEGER NOT NULL,
    previous INTEGER NOT NULL,
    alert_id TEXT,
    reason TEXT NOT NULL,
    PRIMARY KEY (situation, at, level)
) WITHOUT ROWID;

INSERT INTO situation_changes_new SELECT situation, at, level, previous, alert_id, reason FROM situation_changes;
DROP TABLE situation_changes;
ALTER TABLE situation_changes_new RENAME TO situation_changes;
CREATE INDEX situation_changes_by_age ON situation_changes (at);

CREATE TABLE situation_scores_new (
    rule TEXT NOT NULL,
    situation TEXT NOT NULL,
    score REAL NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (rule, situation)
) WITHOUT ROWID;

INSERT INTO situation_scores_new SELECT rule, situation, score, at FROM situation_scores;
DROP TABLE situation_scores;
ALTER TABLE situation_scores_new RENAME TO situation_scores;

CREATE TABLE throttle_new (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    last_at REAL NOT NULL,
    PRIMARY KEY (scope, key)
) WITHOUT ROWID;

INSERT INTO throttle_new SELECT scope, key, last_at FROM throttle;
DROP TABLE throttle;
ALTER TABLE throttle_new RENAME TO throttle;

CREATE TABLE silences_new (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    starts_at REAL NOT NULL,
    ends_at REAL NOT NULL,
    comment TEXT NOT NULL,
    created_at REAL NOT NULL
);

INSERT INTO silences_new SELECT id, matchers, starts_at, ends_at, comment, created_at FROM silences;
DROP TABLE silences;
ALTER TABLE silences_new RENAME TO silences;

CREATE TABLE suppressed_alerts_new (
    alert_id TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    silence_id TEXT,
    at REAL NOT NULL,
    alert TEXT NOT NULL
);

INSERT INTO suppressed_alerts_new SELECT alert_id, reason, silence_id, at, alert FROM suppressed_alerts;
DROP TABLE suppressed_alerts;
ALTER TABLE suppressed_alerts_new RENAME TO suppressed_alerts;
CREATE INDEX suppressed_alerts_by_silence ON suppressed_alerts (silence_id);
CREATE INDEX suppressed_alerts_by_age ON suppressed_alerts (at);

CREATE TABLE deadlines_new (
    id TEXT PRIMARY KEY,
    at REAL NOT NULL,
    text TEXT NOT NULL,
    title TEXT NOT NULL,
    noun TEXT NOT NULL,
    rule TEXT NOT NULL,
    severity TEXT NOT NULL,
    places TEXT NOT NULL,
    actors TEXT NOT NULL,
    tags TEXT NOT NULL,
    story_id TEXT,
    last_reminder_at REAL NOT NULL,
    done INTEGER NOT NULL DEFAULT 0
);

INSERT INTO deadlines_new SELECT id, at, text, title, noun, rule, severity, places, actors, tags, story_id,
       last_reminder_at, done FROM deadlines;
DROP TABLE deadlines;
ALTER TABLE deadlines_new RENAME TO deadlines;
CREATE INDEX deadlines_open ON deadlines (done, at);

CREATE TABLE deadline_items_new (
    deadline_id TEXT NOT NULL,
    title TEXT NOT NULL,
    link TEXT NOT NULL,
    feed TEXT NOT NULL,
    published REAL,
    PRIMARY KEY (deadline_id, link)
) WITHOUT ROWID;

INSERT INTO deadline_items_new SELECT deadline_id, title, link, feed, published FROM deadline_items;
DROP TABLE deadline_items;
ALTER TABLE deadline_items_new RENAME TO deadline_items;
