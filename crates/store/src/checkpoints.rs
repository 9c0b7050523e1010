//! Per-subscriber checkpoints. A projector saves its checkpoint inside the
//! transaction that writes its tables, so the two never disagree.

use chrono::{DateTime, Utc};

use crate::args;
use crate::db::{Db, SqlError, Tx};
use crate::position::Position;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub version: i64,
    pub position: Position,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct Row {
    version: i64,
    transaction_id: i64,
    position: i64,
    updated_at: DateTime<Utc>,
}

impl From<Row> for Checkpoint {
    fn from(r: Row) -> Self {
        Self {
            version: r.version,
            position: Position::new(r.transaction_id, r.position),
            updated_at: r.updated_at,
        }
    }
}

const SELECT: &str =
    "SELECT version, transaction_id, position, updated_at FROM checkpoints WHERE name = $1";
const UPSERT: &str = "INSERT INTO checkpoints (name, version, transaction_id, position, updated_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (name) DO UPDATE SET version = excluded.version, \
     transaction_id = excluded.transaction_id, position = excluded.position, updated_at = excluded.updated_at";

/// Move several checkpoints (`(name, version)`) to the same `position` in one
/// statement: the projectors a group runs together.
pub async fn save_many_in(
    tx: &mut Tx,
    checkpoints: &[(&str, i64)],
    position: Position,
    now: DateTime<Utc>,
) -> Result<(), SqlError> {
    if checkpoints.is_empty() {
        return Ok(());
    }
    // $1..$3 are shared; each row adds its name and version.
    let mut args = args![position.transaction_id, position.position, now];
    let mut rows = Vec::with_capacity(checkpoints.len());
    for (name, version) in checkpoints {
        args.push((*name).into());
        args.push((*version).into());
        rows.push(format!(
            "(${}, ${}, $1, $2, $3)",
            args.len() - 1,
            args.len()
        ));
    }
    let sql = UPSERT.replacen("($1, $2, $3, $4, $5)", &rows.join(", "), 1);
    tx.execute(&sql, args).await?;
    Ok(())
}

pub async fn load(db: &Db, name: &str) -> Result<Option<Checkpoint>, SqlError> {
    Ok(db
        .fetch_optional::<Row>(SELECT, args![name])
        .await?
        .map(Into::into))
}

pub async fn load_in(tx: &mut Tx, name: &str) -> Result<Option<Checkpoint>, SqlError> {
    Ok(tx
        .fetch_optional::<Row>(SELECT, args![name])
        .await?
        .map(Into::into))
}

pub async fn save_in(
    tx: &mut Tx,
    name: &str,
    version: i64,
    position: Position,
    now: DateTime<Utc>,
) -> Result<(), SqlError> {
    tx.execute(
        UPSERT,
        args![
            name,
            version,
            position.transaction_id,
            position.position,
            now
        ],
    )
    .await?;
    Ok(())
}

pub async fn save(
    db: &Db,
    name: &str,
    version: i64,
    position: Position,
    now: DateTime<Utc>,
) -> Result<(), SqlError> {
    db.execute(
        UPSERT,
        args![
            name,
            version,
            position.transaction_id,
            position.position,
            now
        ],
    )
    .await?;
    Ok(())
}

pub async fn delete(db: &Db, name: &str) -> Result<(), SqlError> {
    db.execute("DELETE FROM checkpoints WHERE name = $1", args![name])
        .await?;
    Ok(())
}

/// How far one subscriber is behind the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    /// The checkpoint's name (`reactor:*` for reactors).
    pub name: String,
    /// Log positions after the checkpoint (on Postgres a rolled-back append
    /// leaves a gap, so this can be a little high).
    pub events: i64,
    /// When the oldest event not yet handled was recorded; `None` when caught up.
    pub oldest_unhandled: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct NamedPosition {
    name: String,
    position: i64,
}

#[derive(sqlx::FromRow)]
struct Recorded {
    recorded_at: DateTime<Utc>,
}

/// Every subscriber's backlog, from the checkpoints table and the log's head.
pub async fn backlogs(db: &Db) -> Result<Vec<Backlog>, SqlError> {
    let head = crate::reader::max_position(db).await?;
    let rows: Vec<NamedPosition> = db
        .fetch_all(
            "SELECT name, position FROM checkpoints ORDER BY name",
            args![],
        )
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let events = (head - r.position).max(0);
        let oldest_unhandled = if events == 0 {
            None
        } else {
            db.fetch_optional::<Recorded>(
                "SELECT recorded_at FROM events WHERE position > $1 ORDER BY position LIMIT 1",
                args![r.position],
            )
            .await?
            .map(|e| e.recorded_at)
        };
        out.push(Backlog {
            name: r.name,
            events,
            oldest_unhandled,
        });
    }
    Ok(out)
}
