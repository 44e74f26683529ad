-- PostgreSQL form of 0004: each story keeps its own index keys; the keyed table goes.
ALTER TABLE stories ADD COLUMN index_keys TEXT NOT NULL DEFAULT '[]';

UPDATE stories SET index_keys = coalesce((
    SELECT json_agg(key)::text FROM story_keys
    WHERE story_keys.first_at = stories.first_at AND story_keys.story_id = stories.id
), '[]');

DROP TABLE story_keys;
