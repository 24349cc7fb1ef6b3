-- Issue 12, point 5: manual hubs. Keep in step with ../sqlite/0011_manual_hubs.sql.
-- A hub's connector when not its app's own (`manual` for manual hubs).
ALTER TABLE hubs ADD COLUMN connector TEXT;

-- A manual hub's roster, as last uploaded. `roles` is a JSON array of strings.
CREATE TABLE manual_roster (
    hub_id        TEXT NOT NULL REFERENCES hubs (id) ON DELETE CASCADE,
    app_member_id TEXT COLLATE "C" NOT NULL,
    email         TEXT NOT NULL,
    name          TEXT,
    roles         TEXT NOT NULL DEFAULT '[]',
    state         TEXT NOT NULL,
    PRIMARY KEY (hub_id, app_member_id)
);

-- Tasks for a manual hub's app admin. `kind`: invite | update_role | remove;
-- `state`: open | done | verified | cancelled. Times in milliseconds.
CREATE TABLE manual_tasks (
    id            TEXT    NOT NULL PRIMARY KEY,
    hub_id        TEXT    NOT NULL REFERENCES hubs (id) ON DELETE CASCADE,
    kind          TEXT    NOT NULL,
    app_member_id TEXT,
    email         TEXT    NOT NULL,
    role          TEXT,
    assignee      TEXT    NOT NULL REFERENCES people (id),
    state         TEXT    NOT NULL,
    due_at        BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    done_at       BIGINT,
    done_by       TEXT    REFERENCES people (id) ON DELETE SET NULL,
    verified_at   BIGINT,
    cancelled_at  BIGINT
);
CREATE INDEX manual_tasks_hub ON manual_tasks (hub_id, created_at);
-- At most one pending (open or done) task per hub, kind and email.
CREATE UNIQUE INDEX manual_tasks_one_pending ON manual_tasks (hub_id, kind, email)
    WHERE state IN ('open', 'done');
