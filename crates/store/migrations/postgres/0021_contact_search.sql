-- Full-text search over contacts (name, e-mail, phone) and their channel
-- identities. `search_text` is folded by switchboard_core::search::fold
-- when the row is written (both backends index the same tokens); rows
-- written before are folded once by the store when it opens. Keep in step
-- with ../sqlite/0021_contact_search.sql.

ALTER TABLE contacts ADD COLUMN search_text TEXT;
ALTER TABLE contacts ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX contacts_search ON contacts USING GIN (search);

ALTER TABLE contact_identities ADD COLUMN search_text TEXT;
ALTER TABLE contact_identities ADD COLUMN search tsvector
    GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED;
CREATE INDEX contact_identities_search ON contact_identities USING GIN (search);
