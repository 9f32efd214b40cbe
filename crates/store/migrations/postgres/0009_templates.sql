-- Message templates (DESIGN.md §3, §6): provider-approved messages with
-- numbered placeholders, managed by admins. A template without a channel
-- serves every channel that uses templates. The number of placeholders is
-- read from the body, not stored. Also an index for the audit log listing.
-- Keep in step with ../sqlite/0009_templates.sql.

CREATE TABLE message_templates (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    channel_id TEXT REFERENCES channels(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    language TEXT NOT NULL,
    category TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'approved',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- One template per name and language on a channel; templates without a
-- channel count as one more channel ('' stands in for NULL, which a plain
-- UNIQUE constraint would treat as always distinct).
CREATE UNIQUE INDEX message_templates_unique
    ON message_templates (workspace_id, COALESCE(channel_id, ''), name, language);
CREATE INDEX message_templates_channel ON message_templates (channel_id);

-- The audit log listing, filtered by action, newest first.
CREATE INDEX audit_log_action ON audit_log (workspace_id, action, id);
