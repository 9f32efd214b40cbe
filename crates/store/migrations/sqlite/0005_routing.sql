-- Routing (DESIGN.md §5): team and workspace routing settings as JSON
-- (assignment queue order, requeue of an offline agent's chats, business
-- hours, ticket auto-reply, expiry period); when a queued chat entered the
-- queue, snooze, scheduled messages, and when a member's availability last
-- changed. Keep in step with ../postgres/0005_routing.sql.

ALTER TABLE teams ADD COLUMN routing TEXT NOT NULL DEFAULT '{}';
ALTER TABLE workspaces ADD COLUMN routing TEXT NOT NULL DEFAULT '{}';
ALTER TABLE memberships ADD COLUMN availability_changed_at INTEGER;
ALTER TABLE conversations ADD COLUMN queued_at INTEGER;
ALTER TABLE conversations ADD COLUMN snoozed_until INTEGER;
ALTER TABLE messages ADD COLUMN send_at INTEGER;

-- The queue of a team, oldest first.
CREATE INDEX conversations_queue ON conversations (workspace_id, status, team_id, queued_at);
-- Open chats nobody touched for a while (expiry).
CREATE INDEX conversations_idle ON conversations (status, updated_at);
-- Timers are looked up by kind and payload before one is added again.
CREATE INDEX jobs_kind_state ON jobs (kind, state);
