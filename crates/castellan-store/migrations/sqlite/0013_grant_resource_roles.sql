-- Issue 12, roles on resources: a grant's roles on resources inside the app (Redmine projects,
-- SCIM groups), as a JSON array of {resource_id, role}; a null role takes the role away.
ALTER TABLE hub_grants ADD COLUMN resource_roles TEXT NOT NULL DEFAULT '[]';
