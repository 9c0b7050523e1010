-- Webhooks (crates/webhooks). Endpoints are an event-sourced aggregate
-- (`webhook_endpoint`); these tables hold what the log must not (signing
-- secrets) and the delivery machinery's own state.

-- Current state of every endpoint, kept by the webhook router in log order
-- (so a ticket event is matched against the subscriptions as they stood at
-- that point of the log), plus delivery health kept by the delivery worker.
CREATE TABLE webhook_endpoints
(
    endpoint_id      TEXT PRIMARY KEY,
    workspace_id     TEXT        NOT NULL,
    url              TEXT        NOT NULL,
    event_types      JSONB       NOT NULL,
    description      TEXT,
    active           BOOLEAN     NOT NULL,
    deleted          BOOLEAN     NOT NULL DEFAULT FALSE,
    disabled_reason  TEXT,
    disabled_detail  TEXT,
    disabled_at      TIMESTAMPTZ,
    secret_rotated_at TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    version          BIGINT      NOT NULL,
    failing_since    TIMESTAMPTZ,
    last_success_at  TIMESTAMPTZ,
    last_failure_at  TIMESTAMPTZ
);
CREATE INDEX webhook_endpoints_by_workspace ON webhook_endpoints (workspace_id, created_at, endpoint_id);

-- Signing secrets. Written in the same transaction as the event that names
-- their key id; never in the log, which is exported and kept forever.
CREATE TABLE webhook_secrets
(
    endpoint_id TEXT        NOT NULL,
    key_id      TEXT        NOT NULL,
    secret      TEXT        NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ,
    PRIMARY KEY (endpoint_id, key_id)
);

-- One row per (endpoint, log event, origin): the message and its retry state.
-- `seq` is the enqueue order; per (endpoint, ordering_key) deliveries are
-- sent strictly in that order.
CREATE TABLE webhook_deliveries
(
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id     TEXT        NOT NULL UNIQUE,
    endpoint_id     TEXT        NOT NULL,
    workspace_id    TEXT        NOT NULL,
    event_id        TEXT        NOT NULL,
    event_position  TEXT        NOT NULL,
    log_event_type  TEXT        NOT NULL,
    webhook_type    TEXT        NOT NULL,
    ordering_key    TEXT        NOT NULL,
    origin          TEXT        NOT NULL,
    body            TEXT        NOT NULL,
    status          TEXT        NOT NULL,
    attempt_count   BIGINT      NOT NULL DEFAULT 0,
    cycle_attempts  BIGINT      NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ,
    last_status_code BIGINT,
    last_error      TEXT,
    dead_reason     TEXT,
    redelivery_seq  BIGINT      NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    succeeded_at    TIMESTAMPTZ,
    dead_at         TIMESTAMPTZ,
    UNIQUE (endpoint_id, event_id, origin)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_lane ON webhook_deliveries (endpoint_id, ordering_key, status, seq);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, seq);
CREATE INDEX webhook_deliveries_dead ON webhook_deliveries (workspace_id, status, seq);

-- Every attempt: the delivery log.
CREATE TABLE webhook_attempts
(
    delivery_id      TEXT        NOT NULL,
    attempt          BIGINT      NOT NULL,
    attempted_at     TIMESTAMPTZ NOT NULL,
    status_code      BIGINT,
    latency_ms       BIGINT      NOT NULL,
    error            TEXT,
    response_excerpt TEXT,
    succeeded        BOOLEAN     NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
);

-- Replays requested through the API, worked off in batches by the worker.
CREATE TABLE webhook_replays
(
    replay_id          TEXT PRIMARY KEY,
    endpoint_id        TEXT        NOT NULL,
    workspace_id       TEXT        NOT NULL,
    from_time          TIMESTAMPTZ,
    event_types        JSONB,
    cursor_transaction BIGINT      NOT NULL,
    cursor_position    BIGINT      NOT NULL,
    until_transaction  BIGINT      NOT NULL,
    until_position     BIGINT      NOT NULL,
    status             TEXT        NOT NULL,
    enqueued           BIGINT      NOT NULL DEFAULT 0,
    requested_at       TIMESTAMPTZ NOT NULL,
    finished_at        TIMESTAMPTZ
);
CREATE INDEX webhook_replays_running ON webhook_replays (status, requested_at);
