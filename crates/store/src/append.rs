//! Appending to an aggregate's stream with optimistic concurrency: the primary
//! key (aggregate_type, aggregate_id, sequence) rejects a second writer of the
//! same sequence. A snapshot, when due, is written in the same transaction.

use chrono::{DateTime, Utc};

use crate::args;
use crate::db::{Arg, Backend, Db, SqlError, Tx, is_unique_violation};
use crate::event::Metadata;
use crate::in_list::placeholders;
use crate::position::Position;

/// An event ready to be stored.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub event_id: uuid::Uuid,
    pub event_type: String,
    pub event_version: String,
    pub payload: serde_json::Value,
    pub occurred_at: DateTime<Utc>,
}

/// Which stream, and at what version the writer saw it.
#[derive(Debug, Clone)]
pub struct StreamWrite<'a> {
    pub aggregate_type: &'a str,
    pub aggregate_id: &'a str,
    pub workspace_id: &'a str,
    /// The sequence of the last event the writer decided on (0 for a new stream).
    pub expected_sequence: i64,
    pub metadata: &'a Metadata,
    /// A snapshot of the state after these events: (its sequence, its JSON).
    pub snapshot: Option<(i64, serde_json::Value)>,
    /// A data subject of the workspace whose key the writer holds as live
    /// (it sealed these events with it, or decided on a state that holds the
    /// subject's fields in the clear): nothing is written unless the key
    /// still lives, checked in the same statement
    /// ([`AppendError::SubjectErased`] otherwise).
    pub live_subject: Option<&'a str>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("another writer appended to this stream first")]
    Conflict,
    /// The `live_subject`'s key was destroyed: nothing was written.
    #[error("the data subject was erased")]
    SubjectErased,
    #[error(transparent)]
    Database(#[from] SqlError),
}

#[derive(sqlx::FromRow)]
struct Appended {
    transaction_id: i64,
    position: i64,
    sequence: i64,
}

/// The columns of one event row, in the order of [`row_args`].
const COLUMNS: &str = "aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, \
     event_id, workspace_id, actor, source, correlation_id, causation_id, request_id, occurred_at";
const PER_ROW: usize = 15;
/// Rows per `INSERT`: SQLite binds at most 32,766 parameters to a statement.
const ROWS_PER_STATEMENT: usize = 500;

/// Append `events` after `expected_sequence`; returns each event's position.
///
/// On Postgres, without a snapshot due, this is one statement and no
/// transaction around it: a statement is atomic by itself, and `BEGIN` and
/// `COMMIT` would be two more round trips for every command.
pub async fn append(
    db: &Db,
    write: &StreamWrite<'_>,
    events: &[NewEvent],
) -> Result<Vec<Position>, AppendError> {
    if db.backend() == Backend::Postgres
        && write.snapshot.is_none()
        && events.len() <= ROWS_PER_STATEMENT
    {
        let (sql, args) = insert_statement(Backend::Postgres, write, 0, events);
        let rows: Vec<Appended> = db.fetch_all(&sql, args).await.map_err(classify)?;
        return positions(rows, events.len());
    }
    let mut tx = db.begin().await?;
    let positions = append_in(&mut tx, write, events).await?;
    tx.commit().await.map_err(classify)?;
    Ok(positions)
}

/// The same, inside a transaction the caller commits.
pub async fn append_in(
    tx: &mut Tx,
    write: &StreamWrite<'_>,
    events: &[NewEvent],
) -> Result<Vec<Position>, AppendError> {
    let mut out = Vec::with_capacity(events.len());
    for (chunk, part) in events.chunks(ROWS_PER_STATEMENT).enumerate() {
        let (sql, args) = insert_statement(tx.backend(), write, chunk * ROWS_PER_STATEMENT, part);
        let rows: Vec<Appended> = tx.fetch_all(&sql, args).await.map_err(classify)?;
        out.extend(positions(rows, part.len())?);
    }
    if let Some((seq, payload)) = &write.snapshot {
        tx.execute(
            "INSERT INTO snapshots (aggregate_type, aggregate_id, last_sequence, payload) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE \
             SET last_sequence = excluded.last_sequence, payload = excluded.payload \
             WHERE snapshots.last_sequence < excluded.last_sequence",
            args![write.aggregate_type, write.aggregate_id, *seq, payload.clone()],
        )
        .await?;
    }
    Ok(out)
}

/// One multi-row `INSERT … RETURNING` of `events`, the first of which is the
/// `offset`-th event after the writer's expected sequence. With a
/// `live_subject`, the rows are selected only if the subject's key is still
/// there (a probe of its primary key).
fn insert_statement(
    backend: Backend,
    write: &StreamWrite<'_>,
    offset: usize,
    events: &[NewEvent],
) -> (String, Vec<Arg>) {
    use std::fmt::Write;
    let returning = match backend {
        Backend::Postgres => "transaction_id::text::bigint AS transaction_id, position, sequence",
        Backend::Sqlite => "0 AS transaction_id, position, sequence",
    };
    let mut rows = String::new();
    let mut args = Vec::with_capacity(events.len() * PER_ROW + 2);
    let meta_json = write.metadata.to_json(write.workspace_id);
    for (i, e) in events.iter().enumerate() {
        let sep = if i == 0 { "" } else { ", " };
        let _ = write!(rows, "{sep}({})", placeholders(i * PER_ROW + 1, PER_ROW));
        let sequence = write.expected_sequence + 1 + (offset + i) as i64;
        args.extend(row_args(write, &meta_json, sequence, e));
    }
    let sql = match write.live_subject {
        None => format!("INSERT INTO events ({COLUMNS}) VALUES {rows} RETURNING {returning}"),
        Some(subject) => {
            let n = args.len();
            args.extend(args![subject, write.workspace_id]);
            format!(
                "INSERT INTO events ({COLUMNS}) SELECT * FROM (VALUES {rows}) AS v \
                 WHERE EXISTS (SELECT 1 FROM personal_keys WHERE subject = ${} AND workspace_id = ${} \
                 AND key IS NOT NULL) RETURNING {returning}",
                n + 1,
                n + 2
            )
        }
    };
    (sql, args)
}

/// One event's values, in the order of [`COLUMNS`].
fn row_args(
    write: &StreamWrite<'_>,
    meta_json: &serde_json::Value,
    sequence: i64,
    e: &NewEvent,
) -> Vec<Arg> {
    let meta = write.metadata;
    args![
        write.aggregate_type,
        write.aggregate_id,
        sequence,
        e.event_type.as_str(),
        e.event_version.as_str(),
        e.payload.clone(),
        meta_json.clone(),
        e.event_id.to_string(),
        write.workspace_id,
        meta.actor.as_str(),
        meta.source.as_str(),
        meta.correlation_id.clone(),
        meta.causation_id.clone(),
        meta.request_id.clone(),
        e.occurred_at,
    ]
}

/// The positions of the inserted rows in the order of their sequences
/// (`RETURNING` promises no order). No row for `expected` events: the
/// statement's guard found the live subject erased.
fn positions(mut rows: Vec<Appended>, expected: usize) -> Result<Vec<Position>, AppendError> {
    if rows.len() < expected {
        return Err(AppendError::SubjectErased);
    }
    rows.sort_by_key(|r| r.sequence);
    Ok(rows
        .into_iter()
        .map(|r| Position::new(r.transaction_id, r.position))
        .collect())
}

fn classify(e: SqlError) -> AppendError {
    if is_unique_violation(&e) {
        AppendError::Conflict
    } else {
        AppendError::Database(e)
    }
}
