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

-- What the identity provider says of a person beyond the email: its `userName` when that is not
-- the email (Entra ID sends the UPN, which may differ from the mail; lowercased; NULL means the
-- userName is the email), and the parts of the name (`name.givenName`,
-- `name.familyName`), so that a PATCH of one part keeps the other.
ALTER TABLE people ADD COLUMN user_name TEXT;
ALTER TABLE people ADD COLUMN given_name TEXT;
ALTER TABLE people ADD COLUMN family_name TEXT;
-- A person's userName is user_name, else the email: unique across people, in one index so that
-- two concurrent writes can never both take one.
CREATE UNIQUE INDEX people_user_name ON people ((COALESCE(user_name, email)));

-- When the identity provider deleted the person (SCIM DELETE, ms since the epoch): Castellan keeps
-- them, deactivated, and SCIM answers 404 for them from then on (RFC 7644 §3.6); a new create
-- with their userName or email brings them back.
ALTER TABLE people ADD COLUMN idp_deleted_at BIGINT;
