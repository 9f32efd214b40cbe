-- A provider template's quality rating (WhatsApp: green, yellow, red,
-- unknown), from syncs and Meta's quality webhooks; NULL where the
-- provider rates none. Keep in step with ../postgres/0018_template_quality.sql.

ALTER TABLE message_templates ADD COLUMN quality TEXT;
