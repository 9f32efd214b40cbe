-- AI assist (DESIGN.md §11): each workspace's OpenAI-compatible provider
-- (its API key sealed with the server's secret key) and a record of every
-- call. Keep in step with ../postgres/0024_assist.sql.

CREATE TABLE assist_settings (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id) ON DELETE CASCADE,
    base_url TEXT NOT NULL,
    model TEXT NOT NULL,
    api_key_sealed TEXT,
    timeout_ms BIGINT NOT NULL,
    features TEXT NOT NULL,
    send_notes BOOLEAN NOT NULL,
    mask_contacts BOOLEAN NOT NULL,
    record_text BOOLEAN NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE assist_calls (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    conversation_id TEXT,
    action TEXT NOT NULL,
    model TEXT NOT NULL,
    prompt_tokens BIGINT,
    completion_tokens BIGINT,
    latency_ms BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    input_text TEXT,
    output_text TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX assist_calls_recent ON assist_calls (workspace_id, id);
