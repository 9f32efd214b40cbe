-- Switchboard schema, version 1. Ids are UUIDv7 text; times are integer
-- milliseconds since the Unix epoch. Keep in step with ../postgres/0001_init.sql.

CREATE TABLE instance_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    created_at INTEGER NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE memberships (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role TEXT NOT NULL,
    availability TEXT NOT NULL DEFAULT 'offline',
    capacity INTEGER NOT NULL DEFAULT 10,
    last_assigned_at INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (workspace_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    assignment_rule TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (workspace_id, user_id);

CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    secret TEXT,
    callback_url TEXT,
    default_team_id TEXT REFERENCES teams(id) ON DELETE SET NULL,
    reopen_minutes INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
CREATE INDEX channels_workspace ON channels (workspace_id);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT,
    phone TEXT,
    email TEXT,
    country TEXT,
    attributes TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX contacts_workspace ON contacts (workspace_id, id);

CREATE TABLE contact_identities (
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, external_id)
);
CREATE INDEX contact_identities_contact ON contact_identities (contact_id);

CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES contacts(id) ON DELETE CASCADE,
    team_id TEXT REFERENCES teams(id) ON DELETE SET NULL,
    assignee_id TEXT REFERENCES users(id) ON DELETE SET NULL,
    status TEXT NOT NULL,
    priority TEXT NOT NULL DEFAULT 'normal',
    ticket BOOLEAN NOT NULL DEFAULT 0,
    close_comment TEXT,
    rating INTEGER,
    created_at INTEGER NOT NULL,
    assigned_at INTEGER,
    first_assigned_at INTEGER,
    first_reply_at INTEGER,
    first_reply_after_assignment_at INTEGER,
    last_customer_message_at INTEGER,
    last_message_at INTEGER,
    closed_at INTEGER,
    updated_at INTEGER NOT NULL
);
CREATE INDEX conversations_list ON conversations (workspace_id, status, id);
CREATE INDEX conversations_assignee ON conversations (workspace_id, assignee_id, status);
CREATE INDEX conversations_team ON conversations (workspace_id, team_id, status);
CREATE INDEX conversations_contact ON conversations (contact_id, channel_id, id);

CREATE TABLE tags (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    color TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (workspace_id, name)
);

CREATE TABLE conversation_tags (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    tag_id TEXT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, tag_id)
);

CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    channel_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    sender_kind TEXT NOT NULL,
    sender_id TEXT,
    kind TEXT NOT NULL,
    body TEXT,
    activity TEXT,
    in_reply_to TEXT,
    provider_message_id TEXT,
    delivery_status TEXT,
    delivery_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX messages_conversation ON messages (conversation_id, id);
-- Deduplication of inbound messages by the provider's id, and lookup of
-- outbound ones when a status callback arrives.
CREATE UNIQUE INDEX messages_provider_id ON messages (channel_id, direction, provider_message_id);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    revoked_at INTEGER
);
CREATE INDEX api_tokens_user ON api_tokens (workspace_id, user_id);

CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at INTEGER NOT NULL,
    locked_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    workspace_id TEXT,
    actor_id TEXT,
    action TEXT NOT NULL,
    target_kind TEXT,
    target_id TEXT,
    details TEXT NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, id);
