-- Quick replies (DESIGN.md §3): canned answers an agent inserts by typing
-- `/shortcut`, owned by one user, one team or the whole workspace. A
-- shortcut is unique within its owner. Keep in step with
-- ../sqlite/0007_quick_replies.sql.

CREATE TABLE quick_replies (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    scope TEXT NOT NULL,
    -- personal: the owner; team: the team; workspace: neither.
    owner_user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
    team_id TEXT REFERENCES teams(id) ON DELETE CASCADE,
    shortcut TEXT NOT NULL,
    text TEXT NOT NULL,
    -- A file sent with the text; it goes with its conversation's purge.
    attachment_id TEXT REFERENCES attachments(id) ON DELETE SET NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (
        (scope = 'personal' AND owner_user_id IS NOT NULL AND team_id IS NULL)
        OR (scope = 'team' AND team_id IS NOT NULL AND owner_user_id IS NULL)
        OR (scope = 'workspace' AND owner_user_id IS NULL AND team_id IS NULL)
    )
);
CREATE INDEX quick_replies_workspace ON quick_replies (workspace_id, shortcut);
CREATE INDEX quick_replies_attachment ON quick_replies (attachment_id);
-- One index per scope: a shortcut is unique per user, per team, per workspace.
CREATE UNIQUE INDEX quick_replies_personal_shortcut ON quick_replies (workspace_id, owner_user_id, shortcut)
    WHERE scope = 'personal';
CREATE UNIQUE INDEX quick_replies_team_shortcut ON quick_replies (team_id, shortcut) WHERE scope = 'team';
CREATE UNIQUE INDEX quick_replies_workspace_shortcut ON quick_replies (workspace_id, shortcut)
    WHERE scope = 'workspace';
