-- Accounts' authenticators (2FA managed by Castellan). The secret is the sealed field
-- `totp_secret` in account_secrets; this table holds the non-secret parameters, the HOTP
-- counter and the last accepted step (replay protection).
CREATE TABLE account_otp (
    account_id   TEXT    NOT NULL PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    kind         TEXT    NOT NULL,
    algorithm    TEXT    NOT NULL,
    digits       BIGINT  NOT NULL,
    period       BIGINT  NOT NULL,
    counter      BIGINT  NOT NULL DEFAULT 0,
    issuer       TEXT,
    label_issuer TEXT,
    account_name TEXT,
    last_step    BIGINT,
    created_at   BIGINT  NOT NULL
);
