//! Loading an aggregate: its latest snapshot (our table) plus the events after
//! it, read through the postgres-es / sqlite-es repositories and upcast.

use chrono::{DateTime, Utc};
use cqrs_es::persist::{PersistedEventRepository, PersistenceError, SerializedEvent};
use postgres_es::PostgresEventRepository;
use sqlite_es::SqliteEventRepository;
use tgcrm_domain::TicketId;
use tgcrm_domain::ticket::Ticket;
use tgcrm_domain::{Decider, DomainFact};

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

async fn events_after<A: Decider>(
    db: &Db,
    aggregate_id: &str,
    after: i64,
) -> Result<Vec<SerializedEvent>, LoadError> {
    let mut events = stored_events_after::<A>(db, aggregate_id, after).await?;
    // Personal fields are stored encrypted; the aggregate decides on plain values.
    let mut payloads: Vec<(String, serde_json::Value)> = events
        .iter_mut()
        .map(|e| (e.event_type.clone(), std::mem::take(&mut e.payload)))
        .collect();
    crate::personal::reveal_payloads(db, &mut payloads).await?;
    for (e, (_, p)) in events.iter_mut().zip(payloads) {
        e.payload = p;
    }
    Ok(events)
}

async fn stored_events_after<A: Decider>(
    db: &Db,
    aggregate_id: &str,
    after: i64,
) -> Result<Vec<SerializedEvent>, PersistenceError> {
    let after = usize::try_from(after).unwrap_or(0);
    match db {
        Db::Postgres(pool, _) => {
            let repo = PostgresEventRepository::new(pool.clone());
            if after == 0 {
                repo.get_events::<A>(aggregate_id).await
            } else {
                repo.get_last_events::<A>(aggregate_id, after).await
            }
        }
        Db::Sqlite(pool, _) => {
            let repo = SqliteEventRepository::new(pool.clone());
            if after == 0 {
                repo.get_events::<A>(aggregate_id).await
            } else {
                repo.get_last_events::<A>(aggregate_id, after).await
            }
        }
    }
}

fn decode<A: Decider>(
    events: Vec<SerializedEvent>,
) -> Result<Vec<(i64, A::Fact)>, serde_json::Error> {
    let upcasters = crate::upcast::for_type(A::TYPE);
    events
        .into_iter()
        .map(|e| {
            let e = upcast(e, upcasters);
            let seq = i64::try_from(e.sequence).unwrap_or(i64::MAX);
            serde_json::from_value::<A::Fact>(e.payload).map(|ev| (seq, ev))
        })
        .collect()
}

/// An aggregate as of now. One that does not exist loads as the default
/// (not yet created) state at version 0.
pub async fn load<A: Decider>(db: &Db, aggregate_id: &str) -> Result<Loaded<A>, LoadError> {
    let snapshot: Option<SnapshotRow> = db
        .fetch_optional(
            "SELECT last_sequence, payload FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2",
            args![A::TYPE, aggregate_id],
        )
        .await?;
    let (mut state, mut version) = match snapshot {
        Some(s) => (serde_json::from_value::<A>(s.payload)?, s.last_sequence),
        None => (A::default(), 0),
    };
    for (seq, event) in decode::<A>(events_after::<A>(db, aggregate_id, version).await?)? {
        state.evolve(event);
        version = seq;
    }
    Ok(Loaded { state, version })
}

/// An aggregate as it stood at `as_of`: every event that had happened by
/// then, by the domain's clock. Not from a snapshot: history is replayed.
pub async fn load_as_of<A: Decider>(
    db: &Db,
    aggregate_id: &str,
    as_of: DateTime<Utc>,
) -> Result<Loaded<A>, LoadError> {
    let mut state = A::default();
    let mut version = 0;
    for (seq, event) in decode::<A>(events_after::<A>(db, aggregate_id, 0).await?)? {
        if event.at() > as_of {
            break;
        }
        state.evolve(event);
        version = seq;
    }
    Ok(Loaded { state, version })
}

/// The ticket as of now.
pub async fn load_ticket(db: &Db, id: &TicketId) -> Result<Loaded<Ticket>, LoadError> {
    load::<Ticket>(db, &id.to_string()).await
}

/// The ticket as it stood at `as_of`.
pub async fn load_ticket_as_of(
    db: &Db,
    id: &TicketId,
    as_of: DateTime<Utc>,
) -> Result<Loaded<Ticket>, LoadError> {
    load_as_of::<Ticket>(db, &id.to_string(), as_of).await
}
