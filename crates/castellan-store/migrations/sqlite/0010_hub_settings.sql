-- Issue 12: the plain settings a hub's connector declares beyond its base URL and organization
-- (a JSON object of strings; secrets such as an API token stay sealed on the automation account).
ALTER TABLE hubs ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';
