//! The access log: every request made with an analyst or auditor token.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::args;
use crate::db::{Db, SqlError};

#[derive(Debug, Clone)]
pub struct Access<'a> {
    pub workspace_id: &'a str,
    pub token_id: &'a str,
    pub role: &'a str,
    pub method: &'a str,
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub request_id: Option<&'a str>,
    pub at: DateTime<Utc>,
}

pub async fn record(db: &Db, a: &Access<'_>) -> Result<(), SqlError> {
    db.execute(
        "INSERT INTO access_log (workspace_id, token_id, role, method, path, query, request_id, accessed_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        args![a.workspace_id, a.token_id, a.role, a.method, a.path, a.query, a.request_id, a.at],
    )
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AccessRow {
    pub id: i64,
    pub token_id: String,
    pub role: String,
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub request_id: Option<String>,
    pub accessed_at: DateTime<Utc>,
}

/// The workspace's access log, newest first, before `before_id`.
pub async fn list(
    db: &Db,
    workspace_id: &str,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<AccessRow>, SqlError> {
    db.fetch_all(
        "SELECT id, token_id, role, method, path, query, request_id, accessed_at FROM access_log \
         WHERE workspace_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
        args![workspace_id, before_id.unwrap_or(i64::MAX), limit],
    )
    .await
}
