-- Membership by consent: a workspace invites an address; the person
-- accepts (with their own password, or choosing one for a new account)
-- before they are a member. Admins name members per workspace
-- (memberships.display_name, NULL: the account's own name), never the
-- account. Existing memberships stay as they are. Keep in step with
-- ../sqlite/0017_invitations.sql.

ALTER TABLE memberships ADD COLUMN display_name TEXT;

CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    team_ids TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    invited_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    accepted_at BIGINT
);
CREATE INDEX invitations_workspace ON invitations (workspace_id, id);
