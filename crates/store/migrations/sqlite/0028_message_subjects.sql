-- E-mail has subjects: a message keeps the one it came with, and a reply
-- goes out under the conversation's latest. Keep in step with
-- ../postgres/0028_message_subjects.sql.

ALTER TABLE messages ADD COLUMN subject TEXT;
