-- Issue 15, SCIM service provider: the addresses the identity provider gives a person (the SCIM
-- User's `emails`, RFC 7643 §4.1.2) as it wrote them, with their `type`, `primary` and `display`,
-- so that they read back as sent. A JSON array of {"value", "type", "primary", "display"} (absent
-- sub-attributes left out); the person's `email` is one of the values. NULL: none beyond `email`
-- (SCIM shows `email` as the one `work` and primary address).
ALTER TABLE people ADD COLUMN idp_emails TEXT;
