-- Monthly archives: when a workspace turns them on, each closed month
-- (UTC) is written to storage as a ZIP of JSON transcripts and files, and
-- retention purges only conversations a written archive covers. Keep in
-- step with ../sqlite/0022_monthly_archives.sql.

ALTER TABLE workspaces ADD COLUMN monthly_archive BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE monthly_archives (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    month TEXT NOT NULL,
    from_ms BIGINT NOT NULL,
    before_ms BIGINT NOT NULL,
    storage_key TEXT NOT NULL,
    conversations BIGINT NOT NULL,
    bytes BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, month)
);
