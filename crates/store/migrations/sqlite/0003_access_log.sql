-- Reads by analyst and auditor tokens, kept for auditors of the auditors.
CREATE TABLE access_log
(
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    workspace_id TEXT NOT NULL,
    token_id     TEXT NOT NULL,
    role         TEXT NOT NULL,
    method       TEXT NOT NULL,
    path         TEXT NOT NULL,
    query        TEXT,
    request_id   TEXT,
    accessed_at  TEXT NOT NULL
) STRICT;
CREATE INDEX access_log_by_workspace ON access_log (workspace_id, accessed_at);
