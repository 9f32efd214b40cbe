-- Bots (DESIGN.md §4): where each bot-owned chat stands in its channel's
-- flow, and the buttons a bot message offers. A channel's bot itself is
-- kept in its settings JSON. Keep in step with ../sqlite/0006_bots.sql.

ALTER TABLE messages ADD COLUMN buttons TEXT;

CREATE TABLE bot_sessions (
    conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL,
    -- The step waiting for the customer; NULL before the first turn.
    step TEXT,
    failures BIGINT NOT NULL DEFAULT 0,
    -- The last customer message the bot has handled (ids are time-ordered).
    last_message_id TEXT,
    updated_at BIGINT NOT NULL
);
