-- Attachments: files stored content-addressed in object storage (the key
-- is derived from sha256), one row per attachment even when two rows share
-- the same content; and per-workspace upload limits. Keep in step with
-- ../postgres/0003_attachments.sql.

CREATE TABLE attachments (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
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
CREATE INDEX attachments_workspace ON attachments (workspace_id, id);
CREATE INDEX attachments_conversation ON attachments (conversation_id, id);
CREATE INDEX attachments_message ON attachments (message_id);
-- Whether a stored object is still referenced (before deleting it).
CREATE INDEX attachments_storage_key ON attachments (storage_key);

-- Per-workspace size limits in bytes; NULL keeps the server's default.
CREATE TABLE attachment_limits (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    image_bytes INTEGER,
    video_bytes INTEGER,
    audio_bytes INTEGER,
    document_bytes INTEGER,
    updated_at INTEGER NOT NULL
);
