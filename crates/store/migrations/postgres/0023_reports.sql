-- Reports (DESIGN.md §8): figures kept as events happen, never by
-- scanning messages. Each assignment is a leg; the conversation keeps its
-- message counters, when the bot let go and the close reason chosen.
-- Keep in step with ../sqlite/0023_reports.sql.

ALTER TABLE conversations ADD COLUMN handed_off_at BIGINT;
ALTER TABLE conversations ADD COLUMN messages_in BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN messages_out BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN close_reason TEXT;
ALTER TABLE workspaces ADD COLUMN close_reasons TEXT;

UPDATE conversations SET
    messages_in = (SELECT count(*) FROM messages m WHERE m.conversation_id = conversations.id
        AND m.direction = 'in' AND m.kind IN ('text', 'media', 'template')),
    messages_out = (SELECT count(*) FROM messages m WHERE m.conversation_id = conversations.id
        AND m.direction = 'out' AND m.kind IN ('text', 'media', 'template'));

CREATE TABLE assignment_legs (
    workspace_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL,
    team_id TEXT,
    from_agent_id TEXT,
    start_reason TEXT NOT NULL,
    assigned_at BIGINT NOT NULL,
    first_reply_at BIGINT,
    ended_at BIGINT,
    end_reason TEXT,
    PRIMARY KEY (conversation_id, assigned_at)
);
CREATE INDEX assignment_legs_assigned ON assignment_legs (workspace_id, assigned_at);
CREATE INDEX assignment_legs_agent ON assignment_legs (workspace_id, agent_id, assigned_at);

-- Conversations assigned now get the leg they are in.
INSERT INTO assignment_legs (workspace_id, conversation_id, agent_id, team_id, start_reason, assigned_at, first_reply_at)
SELECT workspace_id, id, assignee_id, team_id, 'first', assigned_at, first_reply_after_assignment_at
FROM conversations WHERE status = 'assigned' AND assignee_id IS NOT NULL AND assigned_at IS NOT NULL;

-- Reports read conversations by creation time (the analytics' range).
CREATE INDEX conversations_created ON conversations (workspace_id, created_at);
