-- The Telegram adapter's own state: which chat and topic belong to which
-- ticket, each customer's intake progress and current ticket, which events it
-- has already delivered (so restarts do not send twice), and how Telegram
-- messages map to conversation messages (for edits and copies).
CREATE TABLE tg_customers
(
    workspace_id      TEXT        NOT NULL,
    telegram_user_id  BIGINT      NOT NULL,
    chat_id           BIGINT      NOT NULL,
    current_ticket_id TEXT,
    intake            JSONB,
    blocked_at        TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (workspace_id, telegram_user_id)
);

CREATE TABLE tg_topics
(
    ticket_id    TEXT PRIMARY KEY,
    workspace_id TEXT        NOT NULL,
    chat_id      BIGINT      NOT NULL,
    thread_id    BIGINT      NOT NULL,
    name         TEXT        NOT NULL,
    closed       BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE UNIQUE INDEX tg_topics_thread ON tg_topics (chat_id, thread_id);

CREATE TABLE tg_deliveries
(
    event_id            TEXT        NOT NULL,
    target              TEXT        NOT NULL,
    chat_id             BIGINT      NOT NULL,
    telegram_message_id BIGINT,
    delivered_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (event_id, target)
);

CREATE TABLE tg_messages
(
    chat_id             BIGINT NOT NULL,
    telegram_message_id BIGINT NOT NULL,
    ticket_id           TEXT   NOT NULL,
    message_id          TEXT   NOT NULL,
    PRIMARY KEY (chat_id, telegram_message_id)
);
CREATE INDEX tg_messages_by_message ON tg_messages (message_id);

CREATE TABLE tg_state
(
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
