-- Retention (DESIGN.md §10): how many days a workspace keeps closed
-- conversations (about 6 months by default); the purge job deletes those
-- closed longer ago, found through the index on (workspace_id, closed_at).
-- Keep in step with ../sqlite/0012_retention.sql.

ALTER TABLE workspaces ADD COLUMN retention_days BIGINT NOT NULL DEFAULT 183;
CREATE INDEX conversations_closed ON conversations (workspace_id, closed_at);
