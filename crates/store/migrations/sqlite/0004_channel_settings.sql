-- Channel settings (the web widget's allowed origins, colours, greeting and
-- pre-chat form), as JSON.
ALTER TABLE channels ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
