-- Issue 15, collections and shares: a collection is a named set of accounts shared together;
-- a share gives a person (a collection) or a team (a vault, a collection or an account) an item
-- role. The highest role across a person's own grants and the shares that reach them wins, in
-- core (castellan_core::collection::effective_item_grants). `version` is the row version a
-- change is written over (compare-and-swap). Names are unique case-insensitively (stored
-- trimmed and NFC-normalised).
CREATE TABLE collections (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    description TEXT,
    version     INTEGER NOT NULL DEFAULT 1,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX collections_name ON collections (lower(name));

CREATE TABLE collection_accounts (
    collection_id TEXT NOT NULL REFERENCES collections (id) ON DELETE CASCADE,
    account_id    TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (collection_id, account_id)
);
CREATE INDEX collection_accounts_account ON collection_accounts (account_id);

-- One column per kind of grantee and of target, so that each has its foreign key (a share goes
-- when its person, team, vault, collection or account goes); `grantee_id` and `target_id`
-- repeat the one that is set, for the primary key and lookups.
CREATE TABLE shares (
    grantee_kind  TEXT NOT NULL CHECK (grantee_kind IN ('person', 'team')),
    grantee_id    TEXT NOT NULL,
    person_id     TEXT REFERENCES people (id) ON DELETE CASCADE,
    team_id       TEXT REFERENCES teams (id) ON DELETE CASCADE,
    target_kind   TEXT NOT NULL CHECK (target_kind IN ('vault', 'collection', 'account')),
    target_id     TEXT NOT NULL,
    vault_id      TEXT REFERENCES vaults (id) ON DELETE CASCADE,
    collection_id TEXT REFERENCES collections (id) ON DELETE CASCADE,
    account_id    TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    role          TEXT NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (grantee_kind, grantee_id, target_kind, target_id),
    CHECK (grantee_id IS CASE grantee_kind WHEN 'person' THEN person_id ELSE team_id END),
    CHECK (target_id IS CASE target_kind WHEN 'vault' THEN vault_id
                                        WHEN 'collection' THEN collection_id
                                        ELSE account_id END)
);
CREATE INDEX shares_target ON shares (target_kind, target_id);
