-- Customers may change what they wrote (Telegram's edits): a message
-- keeps its newest text with the time of the change, and every earlier
-- text in message_edits, oldest first. Keep in step with
-- ../postgres/0026_message_edits.sql.

ALTER TABLE messages ADD COLUMN edited_at INTEGER;

CREATE TABLE message_edits (
    message_id TEXT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL,
    body TEXT,
    replaced_at INTEGER NOT NULL
);
CREATE INDEX message_edits_message ON message_edits (message_id, replaced_at);
