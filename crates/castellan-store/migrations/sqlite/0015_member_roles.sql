-- Issue 12, several roles per member: every app role a member holds, as a JSON array of
-- strings (`app_role` stays the first). Empty for rows saved before: `app_role` alone counts.
ALTER TABLE hub_members ADD COLUMN roles TEXT NOT NULL DEFAULT '[]';
