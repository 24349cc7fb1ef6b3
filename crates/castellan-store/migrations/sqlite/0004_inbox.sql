-- The shared inbox (issue 5): managed email addresses, the workspace's pool of phone numbers,
-- and every email and SMS received for them. Keep in step with ../postgres/0004_inbox.sql.
-- Message contents and raw emails are sealed under the account's vault data key (`dek_id`),
-- with associated data `castellan/v1/inbox_messages/<id>/content|raw`.

CREATE TABLE managed_addresses (
    id         TEXT    NOT NULL PRIMARY KEY,
    account_id TEXT    NOT NULL UNIQUE REFERENCES accounts (id) ON DELETE CASCADE,
    -- Lowercased `<slug>-<random>@<mail domain>`.
    address    TEXT    NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE managed_numbers (
    id          TEXT    NOT NULL PRIMARY KEY,
    e164        TEXT    NOT NULL UNIQUE,
    -- NULL while the number is free; an account's deletion returns it to the pool.
    account_id  TEXT    UNIQUE REFERENCES accounts (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    assigned_at INTEGER
);

CREATE TABLE inbox_messages (
    id          TEXT    NOT NULL PRIMARY KEY,
    kind        TEXT    NOT NULL,
    account_id  TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    vault_id    TEXT    NOT NULL,
    app_id      TEXT,
    received_at INTEGER NOT NULL,
    from_addr   TEXT    NOT NULL,
    to_addr     TEXT    NOT NULL,
    has_code    INTEGER NOT NULL DEFAULT 0,
    has_link    INTEGER NOT NULL DEFAULT 0,
    expires_at  INTEGER,
    -- Idempotency: a message delivered twice is stored once.
    message_key TEXT    NOT NULL UNIQUE,
    dek_id      TEXT    NOT NULL,
    content     BLOB    NOT NULL,
    raw         BLOB,
    raw_bytes   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX inbox_messages_account ON inbox_messages (account_id, received_at);
CREATE INDEX inbox_messages_received ON inbox_messages (received_at);
