-- Full-text search over messages, notes and comments. `search_text` holds
-- the body folded by switchboard_core::search::fold (written with the
-- message, in the same transaction); FTS5 indexes it through triggers, so
-- the index never needs rebuilding. Rows written before this migration
-- are folded once by the store when it opens. Keep in step with
-- ../postgres/0019_archive.sql.

ALTER TABLE messages ADD COLUMN search_text TEXT;

CREATE VIRTUAL TABLE message_search USING fts5(
    search_text,
    content = 'messages',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);

CREATE TRIGGER message_search_insert AFTER INSERT ON messages
WHEN new.search_text IS NOT NULL BEGIN
    INSERT INTO message_search (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

CREATE TRIGGER message_search_delete AFTER DELETE ON messages
WHEN old.search_text IS NOT NULL BEGIN
    INSERT INTO message_search (message_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;

CREATE TRIGGER message_search_update_old AFTER UPDATE OF search_text ON messages
WHEN old.search_text IS NOT NULL BEGIN
    INSERT INTO message_search (message_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;

CREATE TRIGGER message_search_update_new AFTER UPDATE OF search_text ON messages
WHEN new.search_text IS NOT NULL BEGIN
    INSERT INTO message_search (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

-- Legal hold: a held conversation, or every conversation of a held
-- contact, is kept out of every purge until the hold is lifted.
ALTER TABLE conversations ADD COLUMN legal_hold BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE contacts ADD COLUMN legal_hold BOOLEAN NOT NULL DEFAULT 0;
