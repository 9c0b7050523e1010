-- The event log: the table postgres-es reads and writes (aggregate_type,
-- aggregate_id, sequence, event_type, event_version, payload, metadata), plus
-- columns the crates never touch: a global position, the committing
-- transaction, times, and the metadata auditors read, as real columns.
CREATE TABLE events
(
    position        BIGINT GENERATED ALWAYS AS IDENTITY,
    aggregate_type  TEXT        NOT NULL,
    aggregate_id    TEXT        NOT NULL,
    sequence        BIGINT      NOT NULL CHECK (sequence >= 1),
    event_type      TEXT        NOT NULL,
    event_version   TEXT        NOT NULL,
    payload         JSONB       NOT NULL,
    metadata        JSONB       NOT NULL,
    event_id        TEXT        NOT NULL,
    workspace_id    TEXT        NOT NULL,
    actor           TEXT        NOT NULL,
    source          TEXT        NOT NULL,
    correlation_id  TEXT,
    causation_id    TEXT,
    request_id      TEXT,
    occurred_at     TIMESTAMPTZ NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp(),
    transaction_id  XID8        NOT NULL DEFAULT pg_current_xact_id(),
    PRIMARY KEY (aggregate_type, aggregate_id, sequence)
);

CREATE UNIQUE INDEX events_position ON events (position);
CREATE UNIQUE INDEX events_event_id ON events (event_id);
-- The global reader's order: (committing transaction, position).
CREATE INDEX events_global_order ON events (transaction_id, position);
CREATE INDEX events_workspace_order ON events (workspace_id, transaction_id, position);

-- Append-only: history is never rewritten in place.
CREATE FUNCTION events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only (% refused)', TG_OP;
END;
$$;
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION events_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_append_only();

-- Wake-up for readers in other processes. Polling stays the correctness path.
CREATE FUNCTION events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('crm_events', '');
    RETURN NULL;
END;
$$;
CREATE TRIGGER events_notify AFTER INSERT ON events
    FOR EACH STATEMENT EXECUTE FUNCTION events_notify();

-- Aggregate snapshots, written by us in the same transaction as the events
-- they summarise (never through postgres-es's snapshot path).
CREATE TABLE snapshots
(
    aggregate_type TEXT   NOT NULL,
    aggregate_id   TEXT   NOT NULL,
    last_sequence  BIGINT NOT NULL,
    payload        JSONB  NOT NULL,
    PRIMARY KEY (aggregate_type, aggregate_id)
);

-- Where each projector and reactor has read up to.
CREATE TABLE checkpoints
(
    name           TEXT        PRIMARY KEY,
    version        BIGINT      NOT NULL,
    transaction_id BIGINT      NOT NULL,
    position       BIGINT      NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);

-- API tokens: only a hash of the secret is kept.
CREATE TABLE api_tokens
(
    id           TEXT PRIMARY KEY,
    workspace_id TEXT        NOT NULL,
    role         TEXT        NOT NULL,
    agent_id     TEXT,
    secret_hash  TEXT        NOT NULL UNIQUE,
    label        TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    revoked_at   TIMESTAMPTZ
);
