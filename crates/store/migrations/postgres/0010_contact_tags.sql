-- Tags on contacts (DESIGN.md §3): the same workspace tag records that
-- conversations carry, so one list of tags serves both. The contact list
-- filters by tag, hence the index on the tag.
-- Keep in step with ../sqlite/0010_contact_tags.sql.

CREATE TABLE contact_tags (
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    tag_id TEXT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (contact_id, tag_id)
);
CREATE INDEX contact_tags_tag ON contact_tags (tag_id);
