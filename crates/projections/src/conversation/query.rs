//! Reading a ticket's conversation, oldest first, keyset-paginated by sequence.

use chrono::{DateTime, Utc};
use serde::Serialize;
use tgcrm_store::{Db, SqlError, args};

use crate::cursor::encode_i64;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct MessageRow {
    pub message_id: String,
    pub ticket_id: String,
    pub sequence: i64,
    pub author_kind: String,
    pub author_id: Option<String>,
    pub visibility: String,
    pub text: String,
    pub attachments: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

/// Messages of a ticket after `after_sequence`; internal notes only when asked.
/// Returns the page and the cursor of the next one.
pub async fn list(
    db: &Db,
    workspace_id: &str,
    ticket_id: &str,
    include_internal: bool,
    after_sequence: i64,
    limit: i64,
) -> Result<(Vec<MessageRow>, Option<String>), SqlError> {
    let visibility_clause = if include_internal {
        ""
    } else {
        " AND visibility = 'public'"
    };
    let sql = format!(
        "SELECT message_id, ticket_id, sequence, author_kind, author_id, visibility, text, attachments, created_at, \
         edited_at FROM rm_messages WHERE workspace_id = $1 AND ticket_id = $2 AND sequence > $3{visibility_clause} \
         ORDER BY sequence LIMIT $4"
    );
    let mut rows: Vec<MessageRow> = db
        .fetch_all(
            &sql,
            args![workspace_id, ticket_id, after_sequence, limit + 1],
        )
        .await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        rows.last().map(|m| encode_i64(m.sequence))
    } else {
        None
    };
    Ok((rows, next))
}
