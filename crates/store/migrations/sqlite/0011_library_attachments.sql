-- Library attachments (DESIGN.md §3): a file uploaded for a quick reply
-- belongs to no conversation until a reply carrying it is sent (which copies
-- the record into that conversation), so attachments.conversation_id becomes
-- nullable. Keep in step with ../postgres/0011_library_attachments.sql.
--
-- SQLite cannot drop NOT NULL in place: the table is rebuilt with the same
-- columns, checks and indexes as 0003. Migrations run in one transaction
-- with foreign keys on, where PRAGMA foreign_keys cannot be turned off, and
-- DROP TABLE deletes every row first, which fires quick_replies'
-- `attachment_id ... ON DELETE SET NULL`: the quick replies' links are kept
-- aside and put back once the rebuilt table has the same ids.

CREATE TABLE attachments_rebuild (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    -- NULL: uploaded to a user's library (for a quick reply), not posted.
    conversation_id TEXT REFERENCES conversations(id) ON DELETE CASCADE,
    message_id TEXT REFERENCES messages(id) ON DELETE CASCADE,
    -- user | contact, and that record's id.
    uploader_kind TEXT NOT NULL,
    uploader_id TEXT,
    kind TEXT NOT NULL CHECK (kind IN ('image', 'video', 'audio', 'document')),
    mime TEXT NOT NULL,
    filename TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL,
    width INTEGER,
    height INTEGER,
    created_at INTEGER NOT NULL
);
INSERT INTO attachments_rebuild (
    id, workspace_id, conversation_id, message_id, uploader_kind, uploader_id, kind, mime, filename, size,
    sha256, storage_key, width, height, created_at
)
SELECT
    id, workspace_id, conversation_id, message_id, uploader_kind, uploader_id, kind, mime, filename, size,
    sha256, storage_key, width, height, created_at
FROM attachments;

CREATE TABLE quick_reply_attachment_links (id TEXT PRIMARY KEY, attachment_id TEXT NOT NULL);
INSERT INTO quick_reply_attachment_links (id, attachment_id)
SELECT id, attachment_id FROM quick_replies WHERE attachment_id IS NOT NULL;

DROP TABLE attachments;
ALTER TABLE attachments_rebuild RENAME TO attachments;
CREATE INDEX attachments_workspace ON attachments (workspace_id, id);
CREATE INDEX attachments_conversation ON attachments (conversation_id, id);
CREATE INDEX attachments_message ON attachments (message_id);
-- Whether a stored object is still referenced (before deleting it).
CREATE INDEX attachments_storage_key ON attachments (storage_key);

UPDATE quick_replies
SET attachment_id = (SELECT l.attachment_id FROM quick_reply_attachment_links l WHERE l.id = quick_replies.id)
WHERE id IN (SELECT id FROM quick_reply_attachment_links);
DROP TABLE quick_reply_attachment_links;
