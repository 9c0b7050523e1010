//! Database health, and what holds the global reader back on Postgres.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::db::{Backend, Db, SqlError};

#[derive(sqlx::FromRow)]
struct One {
    #[allow(dead_code)]
    one: i64,
}

pub async fn ping(db: &Db) -> Result<(), SqlError> {
    db.fetch_one::<One>("SELECT CAST(1 AS BIGINT) AS one", vec![])
        .await
        .map(|_| ())
}

/// The oldest transaction still running on the cluster. Under the xid8 rule no
/// reader passes it, so a long one stalls every projector.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct OldestTransaction {
    pub pid: i32,
    pub started_at: DateTime<Utc>,
    pub age_seconds: f64,
    pub state: Option<String>,
    pub application_name: Option<String>,
}

pub async fn oldest_transaction(db: &Db) -> Result<Option<OldestTransaction>, SqlError> {
    if db.backend() != Backend::Postgres {
        return Ok(None);
    }
    let Some(pool) = db.pg() else { return Ok(None) };
    sqlx::query_as::<_, OldestTransaction>(
        "SELECT pid, xact_start AS started_at, EXTRACT(EPOCH FROM (clock_timestamp() - xact_start))::float8 AS age_seconds, \
         state, application_name FROM pg_stat_activity \
         WHERE backend_xid IS NOT NULL AND pid <> pg_backend_pid() ORDER BY xact_start LIMIT 1",
    )
    .fetch_optional(pool)
    .await
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

/// Roughly how many events lie past `position` (for lag reports).
pub async fn events_past(db: &Db, position: crate::Position) -> Result<i64, SqlError> {
    let row: Count = db
        .fetch_one(
            "SELECT COUNT(*) AS n FROM events WHERE position > $1",
            crate::args![position.position],
        )
        .await?;
    Ok(row.n)
}
