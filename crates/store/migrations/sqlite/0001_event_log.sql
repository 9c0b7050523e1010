-- The event log in the layout sqlite-es reads, plus a global position (its
-- rowid: SQLite has one writer, so rowid order is commit order), times, and the
-- metadata auditors read, as real columns.
CREATE TABLE events
(
    position        INTEGER PRIMARY KEY AUTOINCREMENT,
    aggregate_type  TEXT    NOT NULL,
    aggregate_id    TEXT    NOT NULL,
    sequence        INTEGER NOT NULL CHECK (sequence >= 1),
    event_type      TEXT    NOT NULL,
    event_version   TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    metadata        TEXT    NOT NULL,
    event_id        TEXT    NOT NULL UNIQUE,
    workspace_id    TEXT    NOT NULL,
    actor           TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    correlation_id  TEXT,
    causation_id    TEXT,
    request_id      TEXT,
    occurred_at     TEXT    NOT NULL,
    recorded_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')),
    UNIQUE (aggregate_type, aggregate_id, sequence)
) STRICT;

CREATE INDEX events_workspace_order ON events (workspace_id, position);

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only (UPDATE refused)');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only (DELETE refused)');
END;

CREATE TABLE snapshots
(
    aggregate_type TEXT    NOT NULL,
    aggregate_id   TEXT    NOT NULL,
    last_sequence  INTEGER NOT NULL,
    payload        TEXT    NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
) STRICT;

CREATE TABLE checkpoints
(
    name           TEXT PRIMARY KEY,
    version        INTEGER NOT NULL,
    transaction_id INTEGER NOT NULL,
    position       INTEGER NOT NULL,
    updated_at     TEXT    NOT NULL
) STRICT;

CREATE TABLE api_tokens
(
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    role         TEXT NOT NULL,
    agent_id     TEXT,
    secret_hash  TEXT NOT NULL UNIQUE,
    label        TEXT,
    created_at   TEXT NOT NULL,
    revoked_at   TEXT
) STRICT;
