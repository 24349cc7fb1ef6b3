-- Issue 12, session reuse: a signed-in app session kept sealed per automation account and app
-- (scope), shared by every instance on this database, and the claim that lets one sign-in at
-- a time run for it. A row may hold only a claim (no session yet).
CREATE TABLE app_sessions (
    account_id    TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    scope         TEXT    NOT NULL,
    dek_id        TEXT,
    ciphertext    BLOB,
    signed_in_at  INTEGER,
    expires_at    INTEGER,
    sign_in_by    TEXT,
    sign_in_until INTEGER,
    PRIMARY KEY (account_id, scope)
);
CREATE INDEX app_sessions_expires ON app_sessions (expires_at);
