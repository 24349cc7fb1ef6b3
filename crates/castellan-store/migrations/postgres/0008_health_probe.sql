-- The readiness probe's row: `GET /api/v1/health/ready` rewrites it in a write transaction, which
-- proves the database takes writes now (a full disk fails it). One row, id 1; nothing else.
CREATE TABLE health_probe (
    id         INTEGER PRIMARY KEY,
    checked_at BIGINT  NOT NULL
);
INSERT INTO health_probe (id, checked_at) VALUES (1, 0);
