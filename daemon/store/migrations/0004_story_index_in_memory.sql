-- The stories' inverted index moves out of the state file into an in-memory database that each connection
-- attaches and rebuilds from `stories` (daemon/escalate/stories.py). story_keys was keyed by random MinHash bands,
-- so every new story dirtied about nine random pages that each commit wrote to the WAL and each checkpoint copied
-- back. A story now keeps its own index keys (a JSON array of integers, so the rebuild runs in SQL).
ALTER TABLE stories ADD COLUMN index_keys TEXT NOT NULL DEFAULT '[]';

UPDATE stories SET index_keys = (
    SELECT json_group_array(key) FROM story_keys
    WHERE story_keys.first_at = stories.first_at AND story_keys.story_id = stories.id
);

DROP TABLE story_keys;
