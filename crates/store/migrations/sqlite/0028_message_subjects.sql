-- E-mail has subjects and a formatted version: a message keeps the
-- subject it came with (a reply goes out under the conversation's latest)
-- and its HTML, sanitised when it arrived. Keep in step with
-- ../postgres/0028_message_subjects.sql.

ALTER TABLE messages ADD COLUMN subject TEXT;
ALTER TABLE messages ADD COLUMN html TEXT;
