-- Issue 15, SCIM service provider: a token's kind. `api` tokens (personal API tokens and web
-- sessions) open /api/v1 and the web app; `scim` tokens, created by the Owner for the identity
-- provider, open only /scim/v2.
ALTER TABLE api_tokens ADD COLUMN kind TEXT NOT NULL DEFAULT 'api';
CREATE INDEX api_tokens_kind ON api_tokens (kind);

-- A person's row version: 1 when inserted, one more with every write of the columns that
-- PeopleStore::update_person writes (email, name, role, status, password and invitation hashes,
-- external id). A change made from a read person is written only over the version it was read at
-- (compare-and-swap), so concurrent changes (an identity provider's PATCH, an admin's demotion,
-- a deactivation) never undo one another.
ALTER TABLE people ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
