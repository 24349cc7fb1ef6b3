-- A job that waits (queued or retrying) is never absorbed by a job with the same dedupe key that
-- a worker already holds: that one may have read the app or the grants before the change the
-- waiting job is for. So at most one *waiting* job per dedupe key (the newest intent; older
-- waiting ones are deduplicated or superseded), and `claim_job` does not start a job while
-- another with its key is held (started or running), so jobs with one key still run one at a time.
DROP INDEX jobs_one_unfinished;
CREATE UNIQUE INDEX jobs_one_waiting ON jobs (dedupe_key)
    WHERE state IN ('queued', 'retrying');
