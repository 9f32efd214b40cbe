-- Campaigns (bulk WhatsApp push) and what the provider says about windows.
-- Keep in step with ../sqlite/0016_campaigns.sql.

-- When the provider said the messaging window had closed (WhatsApp's
-- re-engagement error): closed until the customer writes again.
ALTER TABLE conversations ADD COLUMN window_closed_at BIGINT;

-- A campaign sends one approved template to many recipients of one
-- channel, throttled, in the campaigns lane. Its template values come from
-- contact fields, CSV columns or fixed texts (variables, JSON).
CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id) ON DELETE CASCADE,
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    template_id TEXT REFERENCES message_templates(id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    audience TEXT NOT NULL,
    variables TEXT NOT NULL,
    status TEXT NOT NULL,
    rate_per_second BIGINT NOT NULL,
    send_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX campaigns_workspace ON campaigns (workspace_id, id);

-- The ledger: one row per recipient, in audience order. A row is claimed
-- ('sending') in the transaction that stores its message, so a restart
-- never sends it twice; the message's delivery status and the
-- conversation's first answer give delivered, read and replied.
CREATE TABLE campaign_recipients (
    campaign_id TEXT NOT NULL REFERENCES campaigns(id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    workspace_id TEXT NOT NULL,
    external_id TEXT NOT NULL,
    name TEXT,
    contact_id TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    params TEXT NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    conversation_id TEXT,
    message_id TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (campaign_id, position)
);
CREATE UNIQUE INDEX campaign_recipients_once ON campaign_recipients (campaign_id, external_id);
CREATE INDEX campaign_recipients_due ON campaign_recipients (campaign_id, status, next_at, position);
CREATE INDEX campaign_recipients_message ON campaign_recipients (message_id);

-- Who asked not to get campaigns on a channel (wrote an opt-out keyword
-- such as STOP); an opt-in keyword (START) removes the row.
CREATE TABLE opt_outs (
    channel_id TEXT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    external_id TEXT NOT NULL,
    workspace_id TEXT NOT NULL,
    keyword TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel_id, external_id)
);
