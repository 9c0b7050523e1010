-- Crypto-shredding (see the Postgres migration).
CREATE TABLE personal_keys
(
    workspace_id TEXT NOT NULL,
    subject      TEXT NOT NULL,
    key          TEXT,
    created_at   TEXT NOT NULL,
    erased_at    TEXT,
    PRIMARY KEY (workspace_id, subject)
) STRICT;
