-- Notifications (DESIGN.md §3): a member mentioned in a note or comment, or
-- given a chat by someone else. Each row belongs to one user, who alone
-- reads it. And the feedback request of DESIGN.md §8 (rating).
-- Keep in step with ../sqlite/0008_notifications.sql.

CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    -- 'mention' or 'assignment'.
    kind TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    -- The note or comment, or the assignment's activity line (it goes with
    -- its conversation).
    message_id TEXT,
    -- Who mentioned or assigned; NULL when routing assigned the chat.
    actor_user_id TEXT,
    excerpt TEXT,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
-- A member's notifications, newest first; the unread ones (the badge).
CREATE INDEX notifications_user ON notifications (user_id, workspace_id, id);
CREATE INDEX notifications_unread ON notifications (user_id, workspace_id, id) WHERE read_at IS NULL;
CREATE INDEX notifications_conversation ON notifications (conversation_id);

-- When the customer was last asked to rate the chat (on closing it).
ALTER TABLE conversations ADD COLUMN feedback_requested_at BIGINT;
