-- What each channel's provider last did at its hook: when a request was
-- last handled, and the last one refused (bad signature, bad payload…)
-- with why, for the admin's channel page. Written at most every few
-- seconds per channel. Keep in step with ../sqlite/0027_channel_hook_status.sql.

CREATE TABLE channel_hook_status (
    channel_id TEXT PRIMARY KEY REFERENCES channels(id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL,
    last_received_at BIGINT,
    last_error TEXT,
    last_error_at BIGINT
);
CREATE INDEX channel_hook_status_workspace ON channel_hook_status (workspace_id);
