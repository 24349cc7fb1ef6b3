-- Issue 15, SCIM service provider: the SCIM request that caused a job (JSON {"method", "path"};
-- never a body or a query), when an identity provider's change did: the request that queued it,
-- or for a write job the one that queued the check that planned it. The bot's events about the
-- job name it as `scim_request`. NULL for every other job.
ALTER TABLE jobs ADD COLUMN scim_request TEXT;
