-- Castellan store schema, PostgreSQL dialect. Keep in step with ../sqlite/0001_init.sql.
-- Ids are hyphenated UUID text, times are Unix milliseconds (`*_at`), booleans are 0/1,
-- JSON is text, ciphertexts are BYTEA.

CREATE TABLE workspace (
    id               TEXT    NOT NULL PRIMARY KEY,
    singleton        BIGINT  NOT NULL DEFAULT 1 UNIQUE CHECK (singleton = 1),
    name             TEXT    NOT NULL,
    setup_token_hash TEXT,
    created_at       BIGINT  NOT NULL
);

CREATE TABLE people (
    id                    TEXT    NOT NULL PRIMARY KEY,
    email                 TEXT    NOT NULL UNIQUE,
    name                  TEXT    NOT NULL,
    role                  TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    password_hash         TEXT,
    invitation_hash       TEXT,
    invitation_expires_at BIGINT,
    external_id           TEXT,
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL
);
-- At most one owner, enforced by the database itself.
CREATE UNIQUE INDEX one_owner ON people (role) WHERE role = 'owner';
CREATE INDEX people_invitation_hash ON people (invitation_hash);
CREATE INDEX people_external_id ON people (external_id);

CREATE TABLE api_tokens (
    id           TEXT    NOT NULL PRIMARY KEY,
    person_id    TEXT    NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    hash         TEXT    NOT NULL UNIQUE,
    created_at   BIGINT  NOT NULL,
    expires_at   BIGINT,
    last_used_at BIGINT,
    revoked_at   BIGINT 
);
CREATE INDEX api_tokens_person ON api_tokens (person_id);

CREATE TABLE vaults (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    -- `castellan_core::validate::label_key(name)`: lowercased, spaces folded.
    name_key    TEXT    NOT NULL UNIQUE,
    description TEXT,
    kind        TEXT    NOT NULL,
    is_default  BIGINT  NOT NULL DEFAULT 0,
    created_at  BIGINT  NOT NULL
);

CREATE TABLE vault_access (
    vault_id  TEXT NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    role      TEXT NOT NULL,
    PRIMARY KEY (vault_id, person_id)
);
CREATE INDEX vault_access_person ON vault_access (person_id);

CREATE TABLE vault_keys (
    vault_id        TEXT    NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    dek_id          TEXT    NOT NULL,
    wrap_kind       TEXT    NOT NULL,
    wrapping_key_id TEXT    NOT NULL,
    wrapped         BYTEA   NOT NULL,
    created_at      BIGINT  NOT NULL,
    PRIMARY KEY (vault_id, dek_id, wrap_kind, wrapping_key_id)
);
CREATE INDEX vault_keys_wrapping_key ON vault_keys (wrapping_key_id);

CREATE TABLE accounts (
    id            TEXT    NOT NULL PRIMARY KEY,
    vault_id      TEXT    NOT NULL REFERENCES vaults (id) ON DELETE CASCADE,
    label         TEXT    NOT NULL,
    -- `castellan_core::validate::label_key(label)`: lowercased, spaces folded.
    label_key     TEXT    NOT NULL,
    app_id        TEXT,
    login_url     TEXT,
    username      TEXT,
    setup         TEXT    NOT NULL,
    custom_fields TEXT    NOT NULL DEFAULT '[]',
    secret_fields TEXT    NOT NULL DEFAULT '[]',
    version       BIGINT  NOT NULL,
    created_by    TEXT    REFERENCES people (id) ON DELETE SET NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    UNIQUE (vault_id, label_key)
);
CREATE INDEX accounts_app ON accounts (app_id);
CREATE INDEX accounts_label_key ON accounts (label_key);

CREATE TABLE account_secrets (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    field      TEXT NOT NULL,
    dek_id     TEXT NOT NULL,
    ciphertext BYTEA NOT NULL,
    PRIMARY KEY (account_id, field)
);
CREATE INDEX account_secrets_dek ON account_secrets (dek_id);

CREATE TABLE account_access (
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    person_id  TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    role       TEXT NOT NULL,
    PRIMARY KEY (account_id, person_id)
);
CREATE INDEX account_access_person ON account_access (person_id);

CREATE TABLE custom_apps (
    id   TEXT NOT NULL PRIMARY KEY,
    json TEXT NOT NULL
);

CREATE TABLE activity_events (
    seq          BIGINT  NOT NULL PRIMARY KEY,
    id           TEXT    NOT NULL,
    at           BIGINT  NOT NULL,
    actor_kind   TEXT    NOT NULL,
    actor_id     TEXT,
    actor_name   TEXT    NOT NULL,
    token_id     TEXT,
    action       TEXT    NOT NULL,
    target_kind  TEXT,
    target_id    TEXT,
    target_label TEXT,
    source_ip    TEXT,
    user_agent   TEXT,
    details      TEXT    NOT NULL,
    prev_hash    TEXT    NOT NULL,
    hash         TEXT    NOT NULL
);
CREATE INDEX activity_events_at ON activity_events (at);
CREATE INDEX activity_events_action ON activity_events (action);
CREATE INDEX activity_events_actor ON activity_events (actor_id);
CREATE INDEX activity_events_target ON activity_events (target_id);

-- The chain head: the last `seq` and `hash`. Every append updates this one row first, which
-- is also the write lock that serializes appenders.
CREATE TABLE activity_head (
    id   BIGINT  NOT NULL PRIMARY KEY CHECK (id = 1),
    seq  BIGINT  NOT NULL,
    hash TEXT    NOT NULL
);
INSERT INTO activity_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
