-- Outgoing webhooks: endpoints and their delivery log. (Filled in by the webhooks change.)
SELECT 1;
