//! Reads for the API: endpoints, the delivery log with its attempts, dead letters.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tgcrm_store::{Arg, Db, SqlError, args};

/// An endpoint's delivery health, kept by the worker.
#[derive(Debug, Clone, Default, Serialize, sqlx::FromRow)]
pub struct Health {
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
}

pub async fn health(db: &Db, endpoint_id: &str) -> Result<Health, SqlError> {
    Ok(db
        .fetch_optional(
            "SELECT failing_since, last_success_at, last_failure_at FROM webhook_endpoints WHERE endpoint_id = $1",
            args![endpoint_id],
        )
        .await?
        .unwrap_or_default())
}

/// A row of the endpoint list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub endpoint_id: String,
    pub url: String,
    pub event_types: serde_json::Value,
    pub description: Option<String>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub disabled_detail: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
}

impl EndpointRow {
    pub fn event_types(&self) -> Vec<String> {
        match &self.event_types {
            serde_json::Value::String(s) => serde_json::from_str(s).unwrap_or_default(),
            v => serde_json::from_value(v.clone()).unwrap_or_default(),
        }
    }
}

/// A workspace's endpoints, oldest first, after the keyset `(created_at, id)`.
pub async fn list_endpoints(
    db: &Db,
    workspace: &str,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<EndpointRow>, SqlError> {
    let mut a: Vec<Arg> = args![workspace, false];
    let mut sql = String::from(
        "SELECT endpoint_id, url, event_types, description, active, disabled_reason, disabled_detail, disabled_at, \
         secret_rotated_at, created_at, updated_at, version, failing_since, last_success_at, last_failure_at \
         FROM webhook_endpoints WHERE workspace_id = $1 AND deleted = $2",
    );
    if let Some((at, id)) = after {
        a.push(at.into());
        a.push(id.into());
        sql.push_str(" AND (created_at > $3 OR (created_at = $3 AND endpoint_id > $4))");
    }
    a.push(limit.into());
    sql.push_str(&format!(
        " ORDER BY created_at, endpoint_id LIMIT ${}",
        a.len()
    ));
    db.fetch_all(&sql, a).await
}

/// One attempt of the delivery log.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AttemptRow {
    pub delivery_id: String,
    pub attempt: i64,
    pub attempted_at: DateTime<Utc>,
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
    pub succeeded: bool,
}

/// One delivery (a message to one endpoint).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub seq: i64,
    pub delivery_id: String,
    pub endpoint_id: String,
    pub workspace_id: String,
    pub event_id: String,
    pub event_position: String,
    pub log_event_type: String,
    pub webhook_type: String,
    pub ordering_key: String,
    pub origin: String,
    pub status: String,
    pub attempt_count: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub dead_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub succeeded_at: Option<DateTime<Utc>>,
    pub dead_at: Option<DateTime<Utc>>,
}

const DELIVERY_COLUMNS: &str = "seq, delivery_id, endpoint_id, workspace_id, event_id, event_position, \
    log_event_type, webhook_type, ordering_key, origin, status, attempt_count, next_attempt_at, last_status_code, \
    last_error, dead_reason, created_at, succeeded_at, dead_at";

/// Which deliveries to list; newest first, before the keyset `seq`.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub workspace_id: String,
    pub endpoint_id: Option<String>,
    pub status: Option<String>,
    pub before_seq: Option<i64>,
    pub limit: i64,
}

pub async fn list_deliveries(db: &Db, f: &DeliveryFilter) -> Result<Vec<DeliveryRow>, SqlError> {
    let mut a: Vec<Arg> = args![f.workspace_id.as_str()];
    let mut sql =
        format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE workspace_id = $1");
    if let Some(e) = &f.endpoint_id {
        a.push(e.clone().into());
        sql.push_str(&format!(" AND endpoint_id = ${}", a.len()));
    }
    if let Some(s) = &f.status {
        a.push(s.clone().into());
        sql.push_str(&format!(" AND status = ${}", a.len()));
    }
    if let Some(b) = f.before_seq {
        a.push(b.into());
        sql.push_str(&format!(" AND seq < ${}", a.len()));
    }
    a.push(f.limit.into());
    sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", a.len()));
    db.fetch_all(&sql, a).await
}

pub async fn get_delivery(db: &Db, delivery_id: &str) -> Result<Option<DeliveryRow>, SqlError> {
    let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE delivery_id = $1");
    db.fetch_optional(&sql, args![delivery_id]).await
}

/// The attempts of these deliveries, by delivery, in order.
pub async fn attempts(
    db: &Db,
    delivery_ids: &[String],
) -> Result<HashMap<String, Vec<AttemptRow>>, SqlError> {
    let mut out: HashMap<String, Vec<AttemptRow>> = HashMap::new();
    if delivery_ids.is_empty() {
        return Ok(out);
    }
    let placeholders: Vec<String> = (1..=delivery_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT delivery_id, attempt, attempted_at, status_code, latency_ms, error, response_excerpt, succeeded \
         FROM webhook_attempts WHERE delivery_id IN ({}) ORDER BY delivery_id, attempt",
        placeholders.join(", ")
    );
    let a: Vec<Arg> = delivery_ids.iter().map(|d| Arg::Text(d.clone())).collect();
    let rows: Vec<AttemptRow> = db.fetch_all(&sql, a).await?;
    for r in rows {
        out.entry(r.delivery_id.clone()).or_default().push(r);
    }
    Ok(out)
}

/// A replay's progress.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ReplayRow {
    pub replay_id: String,
    pub endpoint_id: String,
    pub status: String,
    pub enqueued: i64,
    pub requested_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

pub async fn replays(db: &Db, endpoint_id: &str) -> Result<Vec<ReplayRow>, SqlError> {
    db.fetch_all(
        "SELECT replay_id, endpoint_id, status, enqueued, requested_at, finished_at FROM webhook_replays \
         WHERE endpoint_id = $1 ORDER BY requested_at DESC LIMIT 50",
        args![endpoint_id],
    )
    .await
}
