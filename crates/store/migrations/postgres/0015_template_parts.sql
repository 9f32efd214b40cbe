-- A template's header and buttons (WhatsApp's components besides the
-- body), as JSON: {"header": {"format", "text"?}, "buttons": [{"kind",
-- "text", "url"?}]}; '{}' for a body-only template. Keep in step with
-- ../sqlite/0015_template_parts.sql.

ALTER TABLE message_templates ADD COLUMN parts TEXT NOT NULL DEFAULT '{}';
