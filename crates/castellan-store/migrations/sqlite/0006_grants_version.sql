-- "Revoked means revoked": every change of a hub's desired state (a grant, or a person's
-- deactivation) bumps the hub's grants version in the same transaction. A bot job reads the
-- version before it reads the grants; completing the job compares it again, under the same lock
-- as grant changes, and queues a check for updates when it moved. Write jobs are now keyed per
-- person (`member:<hub>:<person>:<member>`) so a grant change cancels the obsolete ones.
ALTER TABLE hubs ADD COLUMN grants_version BIGINT NOT NULL DEFAULT 0;
