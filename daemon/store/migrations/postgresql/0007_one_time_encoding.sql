-- PostgreSQL form of 0006: every time is Unix seconds (UTC) as DOUBLE PRECISION; feed_state's ISO text is
-- read as timestamptz, the integer columns widen exactly.
ALTER TABLE feed_state
    ALTER COLUMN last_success_at TYPE DOUBLE PRECISION USING extract(epoch FROM last_success_at::timestamptz),
    ALTER COLUMN last_error_at TYPE DOUBLE PRECISION USING extract(epoch FROM last_error_at::timestamptz),
    ALTER COLUMN next_poll_at TYPE DOUBLE PRECISION USING extract(epoch FROM next_poll_at::timestamptz),
    ALTER COLUMN entries_checked_at TYPE DOUBLE PRECISION USING extract(epoch FROM entries_checked_at::timestamptz);
ALTER TABLE seen_items
    ALTER COLUMN seen_at TYPE DOUBLE PRECISION USING seen_at;
ALTER TABLE stories
    ALTER COLUMN first_at TYPE DOUBLE PRECISION USING first_at,
    ALTER COLUMN last_at TYPE DOUBLE PRECISION USING last_at;
ALTER TABLE situation_signals
    ALTER COLUMN at TYPE DOUBLE PRECISION USING at;
ALTER TABLE situations
    ALTER COLUMN changed_at TYPE DOUBLE PRECISION USING changed_at;
ALTER TABLE situation_scores
    ALTER COLUMN at TYPE DOUBLE PRECISION USING at;
ALTER TABLE throttle
    ALTER COLUMN last_at TYPE DOUBLE PRECISION USING last_at;
ALTER TABLE silences
    ALTER COLUMN starts_at TYPE DOUBLE PRECISION USING starts_at,
    ALTER COLUMN ends_at TYPE DOUBLE PRECISION USING ends_at,
    ALTER COLUMN created_at TYPE DOUBLE PRECISION USING created_at;
ALTER TABLE suppressed_alerts
    ALTER COLUMN at TYPE DOUBLE PRECISION USING at;
ALTER TABLE deadlines
    ALTER COLUMN at TYPE DOUBLE PRECISION USING at,
    ALTER COLUMN last_reminder_at TYPE DOUBLE PRECISION USING last_reminder_at;
ALTER TABLE deadline_items
    ALTER COLUMN published TYPE DOUBLE PRECISION USING published;
ALTER TABLE situations
    ALTER COLUMN falling_since TYPE DOUBLE PRECISION USING falling_since,
    ALTER COLUMN opened_at TYPE DOUBLE PRECISION USING opened_at;
ALTER TABLE situation_changes
    ALTER COLUMN at TYPE DOUBLE PRECISION USING at;
