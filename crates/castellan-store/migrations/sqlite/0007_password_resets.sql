-- Password reset links (issue 10). An admin issues a single-use link for a person; only the
-- SHA-256 of its token is kept. `used_at` is set when the link sets a new password,
-- `revoked_at` when a newer link or any password change makes it void. Times are Unix ms.
CREATE TABLE password_resets (
    id         TEXT    NOT NULL PRIMARY KEY,
    person_id  TEXT    NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    hash       TEXT    NOT NULL UNIQUE,
    created_by TEXT    REFERENCES people (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    revoked_at INTEGER
);
CREATE INDEX password_resets_person ON password_resets (person_id);

-- Throttled activity (a TOTP code read once per session and account per window) looks up the
-- last event of one token on one target.
CREATE INDEX activity_events_target_token ON activity_events (target_id, token_id, action);
