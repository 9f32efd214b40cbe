-- Full-text search over messages, notes and comments. `search_text` holds
-- the body folded by switchboard_core::search::fold (written with the
-- message, in the same transaction), so both backends index the same
-- tokens; the stored tsvector and its GIN index follow it. Rows written
-- before this migration are folded once by the store when it opens. Keep
-- in step with ../sqlite/0019_archive.sql.

ALTER TABLE messages ADD COLUMN search_text TEXT;
ALTER TABLE messages ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX messages_search ON messages USING GIN (search);

-- Legal hold: a held conversation, or every conversation of a held
-- contact, is kept out of every purge until the hold is lifted.
ALTER TABLE conversations ADD COLUMN legal_hold BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE contacts ADD COLUMN legal_hold BOOLEAN NOT NULL DEFAULT FALSE;
