-- Issue 14, OAuth 2.0: a grant's tokens (access token, refresh token) kept sealed per automation
-- account and client (scope), with a version for compare-and-set and the claim that lets one
-- refresh at a time run for it; and the authorization requests in flight (their state hashed,
-- their PKCE verifier sealed), each taken once at the callback.
CREATE TABLE oauth2_grants (
    account_id    TEXT    NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    scope         TEXT    NOT NULL,
    dek_id        TEXT    NOT NULL,
    ciphertext    BYTEA    NOT NULL,
    expires_at    BIGINT,
    version       BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    refresh_by    TEXT,
    refresh_until BIGINT,
    PRIMARY KEY (account_id, scope)
);
CREATE TABLE oauth2_flows (
    state_hash      TEXT    PRIMARY KEY,
    hub_id          TEXT    NOT NULL REFERENCES hubs (id) ON DELETE CASCADE,
    person_id       TEXT    NOT NULL,
    session_hash    TEXT    NOT NULL,
    redirect_uri    TEXT    NOT NULL,
    dek_id          TEXT    NOT NULL,
    sealed_verifier BYTEA    NOT NULL,
    created_at      BIGINT  NOT NULL,
    expires_at      BIGINT  NOT NULL
);
CREATE INDEX oauth2_flows_expires ON oauth2_flows (expires_at);
