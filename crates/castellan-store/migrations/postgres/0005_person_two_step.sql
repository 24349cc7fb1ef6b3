-- Two-step sign-in: a person's own authenticator. The TOTP secret is sealed with the data key
-- `totp_dek_id` of vault `totp_vault_id` (the default vault when it was set up; data keys do
-- not change when master keys rotate), bound to the person's row by its AAD; never plaintext.
-- `totp_last_step` is the last accepted time step (replay protection). All NULL when off.
ALTER TABLE people ADD COLUMN totp_secret    BYTEA;
ALTER TABLE people ADD COLUMN totp_vault_id  TEXT;
ALTER TABLE people ADD COLUMN totp_dek_id    TEXT;
ALTER TABLE people ADD COLUMN totp_last_step BIGINT;
