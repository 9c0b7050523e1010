//! The adapter's own tables (migration 0005): customers and their intake
//! progress, ticket topics, delivered events, message links, poll offset.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tgcrm_store::{Db, SqlError, args};

/// Where a customer is in the intake form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Intake {
    /// The chosen category, once chosen.
    pub category: Option<String>,
    /// What the customer wrote before choosing a category.
    pub draft: Option<String>,
    /// The Telegram message id of the draft (to link the first message).
    pub draft_message_id: Option<i64>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CustomerRow {
    pub workspace_id: String,
    pub telegram_user_id: i64,
    pub chat_id: i64,
    pub current_ticket_id: Option<String>,
    pub intake: Option<serde_json::Value>,
    pub blocked_at: Option<DateTime<Utc>>,
}

impl CustomerRow {
    pub fn intake(&self) -> Option<Intake> {
        self.intake
            .clone()
            .and_then(|v| serde_json::from_value(v).ok())
    }
}

pub async fn customer(
    db: &Db,
    workspace: &str,
    user: i64,
) -> Result<Option<CustomerRow>, SqlError> {
    db.fetch_optional(
        "SELECT workspace_id, telegram_user_id, chat_id, current_ticket_id, intake, blocked_at FROM tg_customers \
         WHERE workspace_id = $1 AND telegram_user_id = $2",
        args![workspace, user],
    )
    .await
}

pub async fn save_customer(
    db: &Db,
    workspace: &str,
    user: i64,
    chat_id: i64,
    current_ticket: Option<&str>,
    intake: Option<&Intake>,
    now: DateTime<Utc>,
) -> Result<(), SqlError> {
    let intake = match intake {
        Some(i) => Some(serde_json::to_value(i).map_err(|e| SqlError::Decode(Box::new(e)))?),
        None => None,
    };
    let sql = "INSERT INTO tg_customers (workspace_id, telegram_user_id, chat_id, current_ticket_id, intake, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (workspace_id, telegram_user_id) DO UPDATE SET \
         chat_id = excluded.chat_id, current_ticket_id = excluded.current_ticket_id, intake = excluded.intake, \
         blocked_at = NULL, updated_at = excluded.updated_at";
    let intake_arg = match (db.backend(), intake) {
        (_, None) => tgcrm_store::Arg::OptText(None),
        (tgcrm_store::Backend::Postgres, Some(v)) => tgcrm_store::Arg::Json(v),
        (tgcrm_store::Backend::Sqlite, Some(v)) => tgcrm_store::Arg::Text(v.to_string()),
    };
    let sql = match db.backend() {
        tgcrm_store::Backend::Postgres => sql.replace("$5", "$5::jsonb"),
        tgcrm_store::Backend::Sqlite => sql.to_owned(),
    };
    let mut a = args![workspace, user, chat_id, current_ticket];
    a.push(intake_arg);
    a.push(now.into());
    db.execute(&sql, a).await?;
    Ok(())
}

pub async fn mark_blocked(
    db: &Db,
    workspace: &str,
    user: i64,
    now: DateTime<Utc>,
) -> Result<(), SqlError> {
    db.execute(
        "UPDATE tg_customers SET blocked_at = $3, updated_at = $3 WHERE workspace_id = $1 AND telegram_user_id = $2",
        args![workspace, user, now],
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TopicRow {
    pub ticket_id: String,
    pub workspace_id: String,
    pub chat_id: i64,
    pub thread_id: i64,
    pub name: String,
    pub closed: bool,
}

const TOPIC_COLUMNS: &str = "ticket_id, workspace_id, chat_id, thread_id, name, closed";

pub async fn topic_for_ticket(db: &Db, ticket_id: &str) -> Result<Option<TopicRow>, SqlError> {
    db.fetch_optional(
        &format!("SELECT {TOPIC_COLUMNS} FROM tg_topics WHERE ticket_id = $1"),
        args![ticket_id],
    )
    .await
}

pub async fn topic_by_thread(
    db: &Db,
    chat_id: i64,
    thread_id: i64,
) -> Result<Option<TopicRow>, SqlError> {
    db.fetch_optional(
        &format!("SELECT {TOPIC_COLUMNS} FROM tg_topics WHERE chat_id = $1 AND thread_id = $2"),
        args![chat_id, thread_id],
    )
    .await
}

/// Record the topic of a ticket, replacing a deleted one.
pub async fn save_topic(
    db: &Db,
    ticket_id: &str,
    workspace: &str,
    chat_id: i64,
    thread_id: i64,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), SqlError> {
    db.execute(
        "INSERT INTO tg_topics (ticket_id, workspace_id, chat_id, thread_id, name, closed, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (ticket_id) DO UPDATE SET chat_id = excluded.chat_id, \
         thread_id = excluded.thread_id, name = excluded.name, closed = excluded.closed, created_at = excluded.created_at",
        args![ticket_id, workspace, chat_id, thread_id, name, false, now],
    )
    .await?;
    Ok(())
}

pub async fn update_topic(
    db: &Db,
    ticket_id: &str,
    name: &str,
    closed: bool,
) -> Result<(), SqlError> {
    db.execute(
        "UPDATE tg_topics SET name = $2, closed = $3 WHERE ticket_id = $1",
        args![ticket_id, name, closed],
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub chat_id: i64,
    pub telegram_message_id: Option<i64>,
}

pub async fn delivered(
    db: &Db,
    event_id: &str,
    target: &str,
) -> Result<Option<DeliveryRow>, SqlError> {
    db.fetch_optional(
        "SELECT chat_id, telegram_message_id FROM tg_deliveries WHERE event_id = $1 AND target = $2",
        args![event_id, target],
    )
    .await
}

pub async fn record_delivery(
    db: &Db,
    event_id: &str,
    target: &str,
    chat_id: i64,
    telegram_message_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), SqlError> {
    db.execute(
        "INSERT INTO tg_deliveries (event_id, target, chat_id, telegram_message_id, delivered_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        args![event_id, target, chat_id, telegram_message_id, now],
    )
    .await?;
    Ok(())
}

/// The delivered copy of a conversation message in `chat_id` (for relaying edits).
pub async fn delivered_copy(
    db: &Db,
    message_id: &str,
    chat_id: i64,
) -> Result<Option<i64>, SqlError> {
    #[derive(sqlx::FromRow)]
    struct Row1 {
        telegram_message_id: Option<i64>,
    }
    let row: Option<Row1> = db
        .fetch_optional(
            "SELECT d.telegram_message_id FROM tg_deliveries d WHERE d.target = $1 AND d.chat_id = $2 \
             ORDER BY d.delivered_at DESC LIMIT 1",
            args![format!("msg:{message_id}"), chat_id],
        )
        .await?;
    Ok(row.and_then(|r| r.telegram_message_id))
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub chat_id: i64,
    pub telegram_message_id: i64,
    pub ticket_id: String,
    pub message_id: String,
}

pub async fn link(
    db: &Db,
    chat_id: i64,
    tg_message: i64,
    ticket_id: &str,
    message_id: &str,
) -> Result<(), SqlError> {
    db.execute(
        "INSERT INTO tg_messages (chat_id, telegram_message_id, ticket_id, message_id) VALUES ($1, $2, $3, $4) \
         ON CONFLICT DO NOTHING",
        args![chat_id, tg_message, ticket_id, message_id],
    )
    .await?;
    Ok(())
}

pub async fn link_by_telegram(
    db: &Db,
    chat_id: i64,
    tg_message: i64,
) -> Result<Option<LinkRow>, SqlError> {
    db.fetch_optional(
        "SELECT chat_id, telegram_message_id, ticket_id, message_id FROM tg_messages \
         WHERE chat_id = $1 AND telegram_message_id = $2",
        args![chat_id, tg_message],
    )
    .await
}

pub async fn link_by_message(db: &Db, message_id: &str) -> Result<Option<LinkRow>, SqlError> {
    db.fetch_optional(
        "SELECT chat_id, telegram_message_id, ticket_id, message_id FROM tg_messages WHERE message_id = $1 \
         ORDER BY telegram_message_id LIMIT 1",
        args![message_id],
    )
    .await
}

pub async fn state(db: &Db, key: &str) -> Result<Option<String>, SqlError> {
    #[derive(sqlx::FromRow)]
    struct Row1 {
        value: String,
    }
    let r: Option<Row1> = db
        .fetch_optional("SELECT value FROM tg_state WHERE key = $1", args![key])
        .await?;
    Ok(r.map(|r| r.value))
}

pub async fn set_state(db: &Db, key: &str, value: &str) -> Result<(), SqlError> {
    db.execute(
        "INSERT INTO tg_state (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        args![key, value],
    )
    .await?;
    Ok(())
}
