-- PostgreSQL form of 0009: the story index's postings (index key -> story rowid) are a table of the shared
-- database, so every instance finds the stories the others started as soon as they commit; suppressed_alerts gets
-- the insertion order SQLite's rowid gives it. A story's postings go with it (pruned or deleted by hand).
CREATE TABLE story_postings (
    key BIGINT NOT NULL,
    story BIGINT NOT NULL REFERENCES stories (rowid) ON DELETE CASCADE,
    PRIMARY KEY (key, story)
);
CREATE INDEX story_postings_by_story ON story_postings (story);

INSERT INTO story_postings (key, story)
SELECT DISTINCT posting.value::bigint, stories.rowid
FROM stories, json_array_elements_text(stories.index_keys::json) AS posting(value);

ALTER TABLE suppressed_alerts ADD COLUMN rowid BIGSERIAL;
