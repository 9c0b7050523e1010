//! Appending to an aggregate's stream with optimistic concurrency: the primary
//! key (aggregate_type, aggregate_id, sequence) rejects a second writer of the
//! same sequence. A snapshot, when due, is written in the same transaction.

use chrono::{DateTime, Utc};

use crate::args;
use crate::db::{Backend, Db, SqlError, Tx, is_unique_violation};
use crate::event::Metadata;
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
}

#[derive(Debug, thiserror::Error)]
pub enum AppendError {
    #[error("another writer appended to this stream first")]
    Conflict,
    #[error(transparent)]
    Database(#[from] SqlError),
}

#[derive(sqlx::FromRow)]
struct Appended {
    transaction_id: i64,
    position: i64,
}

/// Append `events` after `expected_sequence`; returns each event's position.
pub async fn append(
    db: &Db,
    write: &StreamWrite<'_>,
    events: &[NewEvent],
) -> Result<Vec<Position>, AppendError> {
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
    let returning = match tx.backend() {
        Backend::Postgres => "RETURNING transaction_id::text::bigint AS transaction_id, position",
        Backend::Sqlite => "RETURNING 0 AS transaction_id, position",
    };
    let sql = format!(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, \
         event_id, workspace_id, actor, source, correlation_id, causation_id, request_id, occurred_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) {returning}"
    );
    let meta = write.metadata;
    let meta_json = meta.to_json(write.workspace_id);
    let mut positions = Vec::with_capacity(events.len());
    for (i, e) in events.iter().enumerate() {
        let sequence = write.expected_sequence + 1 + i as i64;
        let row: Appended = tx
            .fetch_one(
                &sql,
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
                ],
            )
            .await
            .map_err(classify)?;
        positions.push(Position::new(row.transaction_id, row.position));
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
    Ok(positions)
}

fn classify(e: SqlError) -> AppendError {
    if is_unique_violation(&e) {
        AppendError::Conflict
    } else {
        AppendError::Database(e)
    }
}
