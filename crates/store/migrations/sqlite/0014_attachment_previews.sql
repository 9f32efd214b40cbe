-- Image previews (DESIGN.md §10): an image attachment gets a re-encoded
-- copy at most 480 px a side, made at upload and stored content-addressed
-- like the file itself; NULL = no preview (not an image, or it could not
-- be decoded). The purge deletes a stored object only when no row uses its
-- key as storage_key or as preview_key, hence the index. Keep in step with
-- ../postgres/0014_attachment_previews.sql.

ALTER TABLE attachments ADD COLUMN preview_key TEXT;
ALTER TABLE attachments ADD COLUMN preview_mime TEXT;
ALTER TABLE attachments ADD COLUMN preview_size INTEGER;
CREATE INDEX attachments_preview_key ON attachments (preview_key);
