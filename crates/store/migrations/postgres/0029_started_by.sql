-- "Sent by" (who wrote first) is kept on the conversation as messages
-- arrive, so lists, filters and exports never look for each chat's first
-- message. Existing chats take it from their first text, media or
-- template message. Keep in step with ../sqlite/0029_started_by.sql.

ALTER TABLE conversations ADD COLUMN started_by TEXT;
UPDATE conversations SET started_by = (
    SELECT m.direction FROM messages m
    WHERE m.conversation_id = conversations.id AND m.kind IN ('text', 'media', 'template')
    ORDER BY m.id LIMIT 1
);
