-- Full-text search over contacts (name, e-mail, phone) and their channel
-- identities, so a search finds a customer by index instead of scanning
-- every contact. `search_text` is folded by switchboard_core::search::fold
-- when the row is written; rows written before are folded once by the
-- store when it opens. Keep in step with ../postgres/0021_contact_search.sql.

ALTER TABLE contacts ADD COLUMN search_text TEXT;
ALTER TABLE contact_identities ADD COLUMN search_text TEXT;

CREATE VIRTUAL TABLE contact_search USING fts5(
    search_text, content = 'contacts', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER contact_search_insert AFTER INSERT ON contacts WHEN new.search_text IS NOT NULL BEGIN
    INSERT INTO contact_search (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER contact_search_delete AFTER DELETE ON contacts WHEN old.search_text IS NOT NULL BEGIN
    INSERT INTO contact_search (contact_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER contact_search_update_old AFTER UPDATE OF search_text ON contacts WHEN old.search_text IS NOT NULL BEGIN
    INSERT INTO contact_search (contact_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
CREATE TRIGGER contact_search_update_new AFTER UPDATE OF search_text ON contacts WHEN new.search_text IS NOT NULL BEGIN
    INSERT INTO contact_search (rowid, search_text) VALUES (new.rowid, new.search_text);
END;

CREATE VIRTUAL TABLE identity_search USING fts5(
    search_text, content = 'contact_identities', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER identity_search_insert AFTER INSERT ON contact_identities WHEN new.search_text IS NOT NULL BEGIN
    INSERT INTO identity_search (rowid, search_text) VALUES (new.rowid, new.search_text);
END;
CREATE TRIGGER identity_search_delete AFTER DELETE ON contact_identities WHEN old.search_text IS NOT NULL BEGIN
    INSERT INTO identity_search (identity_search, rowid, search_text) VALUES ('delete', old.rowid, old.search_text);
END;
