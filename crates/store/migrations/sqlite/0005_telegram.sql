-- The Telegram adapter's own state (see the Postgres migration for the why).
CREATE TABLE tg_customers
(
    workspace_id      TEXT    NOT NULL,
    telegram_user_id  INTEGER NOT NULL,
    chat_id           INTEGER NOT NULL,
    current_ticket_id TEXT,
    intake            TEXT,
    blocked_at        TEXT,
    updated_at        TEXT    NOT NULL,
    PRIMARY KEY (workspace_id, telegram_user_id)
) STRICT;

CREATE TABLE tg_topics
(
    ticket_id    TEXT PRIMARY KEY,
    workspace_id TEXT    NOT NULL,
    chat_id      INTEGER NOT NULL,
    thread_id    INTEGER NOT NULL,
    name         TEXT    NOT NULL,
    closed       INTEGER NOT NULL DEFAULT 0,
    created_at   TEXT    NOT NULL
) STRICT;
CREATE UNIQUE INDEX tg_topics_thread ON tg_topics (chat_id, thread_id);

CREATE TABLE tg_deliveries
(
    event_id            TEXT    NOT NULL,
    target              TEXT    NOT NULL,
    chat_id             INTEGER NOT NULL,
    telegram_message_id INTEGER,
    delivered_at        TEXT    NOT NULL,
    PRIMARY KEY (event_id, target)
) STRICT;

CREATE TABLE tg_messages
(
    chat_id             INTEGER NOT NULL,
    telegram_message_id INTEGER NOT NULL,
    ticket_id           TEXT    NOT NULL,
    message_id          TEXT    NOT NULL,
    PRIMARY KEY (chat_id, telegram_message_id)
) STRICT;
CREATE INDEX tg_messages_by_message ON tg_messages (message_id);

CREATE TABLE tg_state
(
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;
