-- Issue 13, the browser bot: a job that stopped at something only a person can get past
-- (state `needs_attention`) says why (`challenge` or `unexpected_page`).
ALTER TABLE jobs ADD COLUMN attention TEXT;

-- Each job's record of steps: what the bot did, the URL and the error of a failing step sealed
-- together, and a screenshot sealed on its own, both under the automation account's vault data
-- key. The screenshots of a completed job are dropped (set to NULL); its steps stay.
CREATE TABLE job_steps (
    job_id     TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq        INTEGER  NOT NULL,
    attempt    INTEGER  NOT NULL,
    at         INTEGER  NOT NULL,
    dek_id     TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    screenshot BLOB,
    PRIMARY KEY (job_id, seq)
);
