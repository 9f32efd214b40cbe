-- Saved filters: a member's own named archive filters (the list's query
-- string), shown beside the lists. Keep in step with
-- ../sqlite/0020_saved_filters.sql.

CREATE TABLE saved_filters (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    query TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (workspace_id, user_id, name)
);
