-- The newest conversations of a workspace, whatever their status: the
-- archive (several closed statuses at once) and unfiltered lists walk this
-- index newest-first and stop after a page, instead of sorting every
-- matching row (inbox_bench: the archived page took ~28 ms at 20,000
-- conversations without it). Keep in step with the other backend's 0013.
CREATE INDEX conversations_newest ON conversations (workspace_id, id);
