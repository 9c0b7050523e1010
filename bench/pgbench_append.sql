-- The ceiling for command throughput: one event-shaped row appended per
-- transaction to `bench_events`, a copy of the `events` table with the same
-- columns and indexes (created by bench/run.sh with
-- `CREATE TABLE bench_events (LIKE events INCLUDING ALL)`), returning the
-- position as the real append does. The payload is a sealed MessageAdded of
-- the size the server writes.
--
--   pgbench -n -M prepared -c CLIENTS -j 2 -T SECONDS -f bench/pgbench_append.sql DBNAME
INSERT INTO bench_events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata,
                          event_id, workspace_id, actor, source, correlation_id, causation_id, request_id, occurred_at)
VALUES ('ticket', gen_random_uuid()::text, 1, 'MessageAdded', '1.0',
        jsonb_build_object('MessageAdded', jsonb_build_object(
            'message_id', gen_random_uuid(),
            'author', jsonb_build_object('kind', 'agent', 'agent_id', '0190f1d2-7c4e-7a8b-9c0d-1e2f3a4b5c6d'),
            'visibility', 'public',
            -- chr(58) is a colon: pgbench reads a colon before a word as a variable.
            'text', 'enc' || chr(58) || 'v1' || chr(58) || 'bench/tg' || chr(58) || '4242' || chr(58) || encode(sha512(random()::text::bytea) || sha512(random()::text::bytea), 'base64'),
            'attachments', '[]'::jsonb,
            'at', now())),
        jsonb_build_object('actor', 'tok_bench_agent', 'source', 'api', 'workspace_id', 'bench',
                           'correlation_id', gen_random_uuid(), 'request_id', gen_random_uuid()),
        gen_random_uuid()::text, 'bench', 'tok_bench_agent', 'api', gen_random_uuid()::text, NULL,
        gen_random_uuid()::text, now())
RETURNING transaction_id::text::bigint AS transaction_id, position;
