//! Loading an aggregate: its latest snapshot (our table) plus the events after
//! it, read through the postgres-es / sqlite-es repositories and upcast.

use chrono::{DateTime, Utc};
use cqrs_es::persist::{PersistedEventRepository, PersistenceError, SerializedEvent};
use postgres_es::PostgresEventRepository;
use sqlite_es::SqliteEventRepository;
use tgcrm_domain::TicketId;
use tgcrm_domain::ticket::{Ticket, TicketEvent};

use crate::args;
use crate::db::{Db, SqlError};
use crate::upcast::upcast;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("reading the event log: {0}")]
    Database(#[from] SqlError),
    #[error("reading the event log: {0}")]
    Persistence(#[from] PersistenceError),
    #[error("an event or snapshot in the log does not decode: {0}")]
    Corrupt(#[from] serde_json::Error),
}

/// A ticket's state and the sequence of the last event folded into it.
#[derive(Debug, Clone)]
pub struct Loaded<S> {
    pub state: S,
    pub version: i64,
}

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    last_sequence: i64,
    payload: serde_json::Value,
}

async fn events_after(db: &Db, aggregate_id: &str, after: i64) -> Result<Vec<SerializedEvent>, PersistenceError> {
    let after = usize::try_from(after).unwrap_or(0);
    match db {
        Db::Postgres(pool) => {
            let repo = PostgresEventRepository::new(pool.clone());
            if after == 0 {
                repo.get_events::<Ticket>(aggregate_id).await
            } else {
                repo.get_last_events::<Ticket>(aggregate_id, after).await
            }
        }
        Db::Sqlite(pool) => {
            let repo = SqliteEventRepository::new(pool.clone());
            if after == 0 {
                repo.get_events::<Ticket>(aggregate_id).await
            } else {
                repo.get_last_events::<Ticket>(aggregate_id, after).await
            }
        }
    }
}

fn decode(events: Vec<SerializedEvent>) -> Result<Vec<(i64, TicketEvent)>, serde_json::Error> {
    let upcasters = crate::upcast::ticket();
    events
        .into_iter()
        .map(|e| {
            let e = upcast(e, upcasters);
            let seq = i64::try_from(e.sequence).unwrap_or(i64::MAX);
            serde_json::from_value::<TicketEvent>(e.payload).map(|ev| (seq, ev))
        })
        .collect()
}

/// The ticket as of now. A ticket that does not exist loads as the default
/// (not opened) state at version 0.
pub async fn load_ticket(db: &Db, id: &TicketId) -> Result<Loaded<Ticket>, LoadError> {
    let aggregate_id = id.to_string();
    let snapshot: Option<SnapshotRow> = db
        .fetch_optional(
            "SELECT last_sequence, payload FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2",
            args![tgcrm_domain::ticket::AGGREGATE_TYPE, aggregate_id.as_str()],
        )
        .await?;
    let (mut state, mut version) = match snapshot {
        Some(s) => (serde_json::from_value::<Ticket>(s.payload)?, s.last_sequence),
        None => (Ticket::default(), 0),
    };
    for (seq, event) in decode(events_after(db, &aggregate_id, version).await?)? {
        state.apply(event);
        version = seq;
    }
    Ok(Loaded { state, version })
}

/// The ticket as it stood at `as_of`: every event that had happened by then,
/// by the domain's clock. Not from a snapshot: history is replayed.
pub async fn load_ticket_as_of(db: &Db, id: &TicketId, as_of: DateTime<Utc>) -> Result<Loaded<Ticket>, LoadError> {
    let mut state = Ticket::default();
    let mut version = 0;
    for (seq, event) in decode(events_after(db, &id.to_string(), 0).await?)? {
        if event.at() > as_of {
            break;
        }
        state.apply(event);
        version = seq;
    }
    Ok(Loaded { state, version })
}
