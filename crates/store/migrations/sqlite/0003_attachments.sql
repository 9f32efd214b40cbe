-- Attachments. (Filled in by the attachments change.)
SELECT 1;
