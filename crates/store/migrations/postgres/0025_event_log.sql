-- The cluster's shared state (DESIGN.md §2): the durable event log with
-- each workspace's sequence head and marks of it over time, per-consumer cursors over it (outgoing
-- webhooks), presence leases held by the nodes that hold live sockets,
-- and rate-limit counters every node counts in. Keep in step with
-- ../sqlite/0025_event_log.sql.

CREATE TABLE event_heads (
    workspace_id TEXT PRIMARY KEY,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL
);

CREATE TABLE event_log (
    workspace_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    scope TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, seq)
);

-- Where each workspace's log stood at a moment, taken every minute:
-- trimming deletes a workspace's rows up to the seq of a mark older than
-- the log keeps, along its primary key, so the log needs no index by age.
CREATE TABLE event_marks (
    workspace_id TEXT NOT NULL,
    at BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, at)
);

CREATE TABLE event_cursors (
    consumer TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    PRIMARY KEY (consumer, workspace_id)
);

CREATE TABLE presence_leases (
    node_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (node_id, workspace_id, user_id)
);
CREATE INDEX presence_leases_user ON presence_leases (workspace_id, user_id);
CREATE INDEX presence_leases_expiry ON presence_leases (expires_at);

CREATE TABLE rate_hits (
    bucket TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (bucket, window_start)
);
