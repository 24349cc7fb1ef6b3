-- Business hubs and the bot's job queue, PostgreSQL dialect. Keep in step with
-- ../sqlite/0002_hubs_jobs.sql. Same conventions as 0001: UUID text ids, millisecond times,
-- 0/1 booleans, JSON as text.

CREATE TABLE hubs (
    id                    TEXT    NOT NULL PRIMARY KEY,
    app_id                TEXT    NOT NULL,
    label                 TEXT    NOT NULL,
    -- `castellan_core::validate::label_key(label)`: lowercased, spaces folded.
    label_key             TEXT    NOT NULL UNIQUE,
    organization_id       TEXT,
    base_url              TEXT    NOT NULL,
    user_management       TEXT    NOT NULL,
    login_method          TEXT    NOT NULL,
    -- No foreign key: a hub outlives a deleted automation account (it then needs review).
    automation_account_id TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    status_reason         TEXT,
    warnings              TEXT    NOT NULL DEFAULT '[]',
    safeguard_threshold   DOUBLE PRECISION NOT NULL,
    sync_interval_secs    BIGINT  NOT NULL,
    next_sync_at          BIGINT,
    last_sync_at          BIGINT,
    created_by            TEXT    REFERENCES people (id) ON DELETE SET NULL,
    created_at            BIGINT  NOT NULL,
    updated_at            BIGINT  NOT NULL
);
CREATE INDEX hubs_next_sync ON hubs (next_sync_at);
CREATE INDEX hubs_account ON hubs (automation_account_id);

-- The member snapshot of the last sync (plus single upserts after matches and bot writes).
-- PostgreSQL: `app_member_id` sorts bytewise (COLLATE "C"), like SQLite.
CREATE TABLE hub_members (
    hub_id        TEXT    NOT NULL REFERENCES hubs (id) ON DELETE CASCADE,
    app_member_id TEXT    COLLATE "C" NOT NULL,
    email         TEXT,
    name          TEXT,
    app_role      TEXT,
    state         TEXT    NOT NULL,
    matching      TEXT    NOT NULL,
    person_id     TEXT    REFERENCES people (id) ON DELETE SET NULL,
    exempt_reason TEXT,
    first_seen_at BIGINT  NOT NULL,
    last_seen_at  BIGINT  NOT NULL,
    PRIMARY KEY (hub_id, app_member_id)
);
CREATE INDEX hub_members_person ON hub_members (person_id);

-- Sync reports; `job_id` names the job that made it (no foreign key: reports outlive jobs).
CREATE TABLE hub_reports (
    id     TEXT    NOT NULL PRIMARY KEY,
    hub_id TEXT    NOT NULL REFERENCES hubs (id) ON DELETE CASCADE,
    job_id TEXT    NOT NULL,
    at     BIGINT  NOT NULL,
    report TEXT    NOT NULL
);
CREATE INDEX hub_reports_hub_at ON hub_reports (hub_id, at);

CREATE TABLE hub_grants (
    hub_id     TEXT    NOT NULL REFERENCES hubs (id) ON DELETE CASCADE,
    person_id  TEXT    NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    hub_role   TEXT    NOT NULL,
    app_role   TEXT    NOT NULL,
    revoked    BIGINT  NOT NULL DEFAULT 0,
    keep_seat  BIGINT  NOT NULL DEFAULT 0,
    updated_at BIGINT  NOT NULL,
    PRIMARY KEY (hub_id, person_id)
);
CREATE INDEX hub_grants_person ON hub_grants (person_id);

CREATE TABLE jobs (
    id           TEXT    NOT NULL PRIMARY KEY,
    hub_id       TEXT    NOT NULL REFERENCES hubs (id) ON DELETE CASCADE,
    task         TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    "trigger"    TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    target       TEXT,
    params       TEXT    NOT NULL DEFAULT '{}',
    attempts     BIGINT  NOT NULL DEFAULT 0,
    max_attempts BIGINT  NOT NULL,
    run_at       BIGINT  NOT NULL,
    worker_id    TEXT,
    lease_until  BIGINT,
    progress     TEXT,
    dedupe_key   TEXT,
    error        TEXT,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
-- Claiming: due queued/retrying jobs, and started/running jobs whose lease expired.
CREATE INDEX jobs_state_run_at ON jobs (state, run_at);
CREATE INDEX jobs_state_lease ON jobs (state, lease_until);
CREATE INDEX jobs_hub ON jobs (hub_id, created_at);
CREATE INDEX jobs_created ON jobs (created_at);
CREATE INDEX jobs_dedupe_key ON jobs (dedupe_key);
-- At most one unfinished job per dedupe key, enforced by the database itself. `enqueue` names
-- this index (columns and predicate, verbatim) as its `ON CONFLICT` target.
CREATE UNIQUE INDEX jobs_one_unfinished ON jobs (dedupe_key)
    WHERE state IN ('queued', 'started', 'running', 'retrying');

-- One row per executed side effect (audits, exactly-once tests).
CREATE TABLE job_runs (
    id      BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    job_id  TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    worker  TEXT    NOT NULL,
    at      BIGINT  NOT NULL,
    outcome TEXT    NOT NULL
);
CREATE INDEX job_runs_job ON job_runs (job_id);
