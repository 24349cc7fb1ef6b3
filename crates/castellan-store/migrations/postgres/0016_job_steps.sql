-- Issue 13, the browser bot: a job that stopped at something only a person can get past
-- (state `needs_attention`) says why (`challenge` or `unexpected_page`).
ALTER TABLE jobs ADD COLUMN attention TEXT;

-- Each job's record of steps: what the bot did, the URL and the error of a failing step sealed
-- together, and a screenshot sealed on its own, both under the automation account's vault data
-- key. The screenshots of a completed job are dropped (set to NULL); its steps stay.
CREATE TABLE job_steps (
    job_id     TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq        BIGINT  NOT NULL,
    attempt    BIGINT  NOT NULL,
    at         BIGINT  NOT NULL,
    dek_id     TEXT    NOT NULL,
    sealed     BYTEA   NOT NULL,
    screenshot BYTEA,
    PRIMARY KEY (job_id, seq)
);
