-- The subject first in the primary key, as on Postgres (see its migration).
CREATE TABLE personal_keys_by_subject
(
    workspace_id TEXT NOT NULL,
    subject      TEXT NOT NULL,
    key          TEXT,
    created_at   TEXT NOT NULL,
    erased_at    TEXT,
    PRIMARY KEY (subject, workspace_id)
) STRICT;
INSERT INTO personal_keys_by_subject (workspace_id, subject, key, created_at, erased_at)
SELECT workspace_id, subject, key, created_at, erased_at FROM personal_keys;
DROP TABLE personal_keys;
ALTER TABLE personal_keys_by_subject RENAME TO personal_keys;
