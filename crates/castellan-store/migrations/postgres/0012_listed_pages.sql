-- Issue 12, resumable listing: the pages a check for updates has listed so far, so that a retry
-- (after a 429, a restart) resumes at the next page. Kept only while the job lists.
CREATE TABLE listed_pages (
    job_id      TEXT    NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    page        BIGINT  NOT NULL,
    members     TEXT    NOT NULL,
    next_cursor TEXT,
    listed_at   BIGINT  NOT NULL,
    PRIMARY KEY (job_id, page)
);
