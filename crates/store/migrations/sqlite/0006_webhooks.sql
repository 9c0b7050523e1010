-- Webhooks (see the Postgres migration for the why of each table).
CREATE TABLE webhook_endpoints
(
    endpoint_id       TEXT PRIMARY KEY,
    workspace_id      TEXT    NOT NULL,
    url               TEXT    NOT NULL,
    event_types       TEXT    NOT NULL,
    description       TEXT,
    active            INTEGER NOT NULL,
    deleted           INTEGER NOT NULL DEFAULT 0,
    disabled_reason   TEXT,
    disabled_detail   TEXT,
    disabled_at       TEXT,
    secret_rotated_at TEXT,
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL,
    version           INTEGER NOT NULL,
    failing_since     TEXT,
    last_success_at   TEXT,
    last_failure_at   TEXT
) STRICT;
CREATE INDEX webhook_endpoints_by_workspace ON webhook_endpoints (workspace_id, created_at, endpoint_id);

CREATE TABLE webhook_secrets
(
    endpoint_id TEXT NOT NULL,
    key_id      TEXT NOT NULL,
    secret      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    expires_at  TEXT,
    PRIMARY KEY (endpoint_id, key_id)
) STRICT;

CREATE TABLE webhook_deliveries
(
    seq              INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id      TEXT    NOT NULL UNIQUE,
    endpoint_id      TEXT    NOT NULL,
    workspace_id     TEXT    NOT NULL,
    event_id         TEXT    NOT NULL,
    event_position   TEXT    NOT NULL,
    log_event_type   TEXT    NOT NULL,
    webhook_type     TEXT    NOT NULL,
    ordering_key     TEXT    NOT NULL,
    origin           TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    attempt_count    INTEGER NOT NULL DEFAULT 0,
    cycle_attempts   INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT,
    last_status_code INTEGER,
    last_error       TEXT,
    dead_reason      TEXT,
    redelivery_seq   INTEGER NOT NULL DEFAULT 0,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    succeeded_at     TEXT,
    dead_at          TEXT,
    UNIQUE (endpoint_id, event_id, origin)
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_lane ON webhook_deliveries (endpoint_id, ordering_key, status, seq);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, seq);
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (workspace_id, status, seq);

CREATE TABLE webhook_attempts
(
    delivery_id      TEXT    NOT NULL,
    attempt          INTEGER NOT NULL,
    attempted_at     TEXT    NOT NULL,
    status_code      INTEGER,
    latency_ms       INTEGER NOT NULL,
    error            TEXT,
    response_excerpt TEXT,
    succeeded        INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
) STRICT;

CREATE TABLE webhook_replays
(
    replay_id          TEXT PRIMARY KEY,
    endpoint_id        TEXT    NOT NULL,
    workspace_id       TEXT    NOT NULL,
    from_time          TEXT,
    event_types        TEXT,
    cursor_transaction INTEGER NOT NULL,
    cursor_position    INTEGER NOT NULL,
    until_transaction  INTEGER NOT NULL,
    until_position     INTEGER NOT NULL,
    status             TEXT    NOT NULL,
    enqueued           INTEGER NOT NULL DEFAULT 0,
    requested_at       TEXT    NOT NULL,
    finished_at        TEXT
) STRICT;
CREATE INDEX webhook_replays_running ON webhook_replays (status, requested_at);
