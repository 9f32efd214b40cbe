-- Library attachments (DESIGN.md §3): a file uploaded for a quick reply
-- belongs to no conversation until a reply carrying it is sent (which copies
-- the record into that conversation), so attachments.conversation_id becomes
-- nullable. Keep in step with ../sqlite/0011_library_attachments.sql.

ALTER TABLE attachments ALTER COLUMN conversation_id DROP NOT NULL;
