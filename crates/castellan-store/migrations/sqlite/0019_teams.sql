-- Issue 15, teams: groups of people, self-managed (kind 'managed') or kept by the identity
-- provider over SCIM (kind 'idp'). `version` is the row version a change is written over
-- (compare-and-swap), one more with every change of the name or the members. Names are unique
-- case-insensitively (stored trimmed and NFC-normalised), external ids unique when set.
CREATE TABLE teams (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    external_id TEXT,
    version     INTEGER  NOT NULL DEFAULT 1,
    created_at  INTEGER  NOT NULL,
    updated_at  INTEGER  NOT NULL
);
CREATE UNIQUE INDEX teams_name ON teams (lower(name));
CREATE UNIQUE INDEX teams_external_id ON teams (external_id);

CREATE TABLE team_members (
    team_id   TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    person_id TEXT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    PRIMARY KEY (team_id, person_id)
);
CREATE INDEX team_members_person ON team_members (person_id);

-- A team's grant on a hub: each member gets the hub role and app role there (the highest role
-- across a person's own grant and their teams' wins, in core: castellan_core::team).
CREATE TABLE team_grants (
    hub_id     TEXT NOT NULL REFERENCES hubs (id) ON DELETE CASCADE,
    team_id    TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    hub_role   TEXT NOT NULL,
    app_role   TEXT NOT NULL,
    updated_at INTEGER  NOT NULL,
    PRIMARY KEY (hub_id, team_id)
);
CREATE INDEX team_grants_team ON team_grants (team_id);
