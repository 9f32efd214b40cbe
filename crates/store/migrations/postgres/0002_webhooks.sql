-- Outgoing webhooks: endpoints and their delivery log, and the workspace
-- setting that lets them reach private addresses. Keep in step with
-- ../sqlite/0002_webhooks.sql.

CREATE TABLE webhooks (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    -- whsec_<base64 of 32 random bytes>; never returned after create/rotate.
    secret TEXT NOT NULL,
    -- JSON array of event types, or ["*"] for all.
    events TEXT NOT NULL DEFAULT '["*"]',
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhooks_workspace ON webhooks (workspace_id, id);

CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    event_seq BIGINT,
    -- The exact body sent on every attempt.
    payload TEXT NOT NULL,
    -- pending | succeeded | failed
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    response_status BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    delivered_at BIGINT
);
-- The delivery log of one endpoint, newest first.
CREATE INDEX webhook_deliveries_webhook ON webhook_deliveries (webhook_id, id);
-- For purging old log entries per workspace.
CREATE INDEX webhook_deliveries_workspace ON webhook_deliveries (workspace_id, created_at);

ALTER TABLE workspaces ADD COLUMN allow_private_targets BOOLEAN NOT NULL DEFAULT FALSE;
