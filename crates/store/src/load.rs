//! Loading an aggregate: its latest snapshot (our table) plus the events after
//! it, upcast. The current state is one statement that reads both (one round
//! trip per command instead of two); a state as of a past time replays the
//! whole stream, read through the postgres-es / sqlite-es repositories.

use chrono::{DateTime, Utc};
use cqrs_es::persist::{PersistedEventRepository, PersistenceError, SerializedEvent};
use postgres_es::PostgresEventRepository;
use sqlite_es::SqliteEventRepository;
use tgcrm_domain::TicketId;
use tgcrm_domain::ticket::Ticket;
use tgcrm_domain::{Decider, DomainFact};

use crate::args;
use crate::db::{Db, SqlError};
use crate::personal::KeyRing;
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

/// A row of [`CURRENT`]: the snapshot (no event type) or an event after it.
#[derive(sqlx::FromRow)]
struct StreamRow {
    sequence: i64,
    event_type: Option<String>,
    event_version: Option<String>,
    payload: serde_json::Value,
}

/// The stream's snapshot, if any, and the events after it, in order. The
/// snapshot's `last_sequence` is below every event after it, so it sorts
/// first. One statement sees one state of the tables: a snapshot written
/// between two reads cannot make an event count twice or go missing.
const CURRENT: &str = "\
    SELECT last_sequence AS sequence, NULL AS event_type, NULL AS event_version, payload \
      FROM snapshots WHERE aggregate_type = $1 AND aggregate_id = $2 \
    UNION ALL \
    SELECT sequence, event_type, event_version, payload \
      FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 \
       AND sequence > COALESCE((SELECT last_sequence FROM snapshots \
                                 WHERE aggregate_type = $1 AND aggregate_id = $2), 0) \
    ORDER BY sequence";

/// Personal fields are stored encrypted; the aggregate decides on plain values.
async fn reveal(
    db: &Db,
    events: &mut [SerializedEvent],
    ring: &mut KeyRing,
) -> Result<(), LoadError> {
    let mut payloads: Vec<(String, serde_json::Value)> = events
        .iter_mut()
        .map(|e| (e.event_type.clone(), std::mem::take(&mut e.payload)))
        .collect();
    crate::personal::reveal_payloads_keeping(db, &mut payloads, ring).await?;
    for (e, (_, p)) in events.iter_mut().zip(payloads) {
        e.payload = p;
    }
    Ok(())
}

/// The whole stream, revealed, through the cqrs-es repositories.
async fn all_events<A: Decider>(
    db: &Db,
    aggregate_id: &str,
) -> Result<Vec<SerializedEvent>, LoadError> {
    let mut events = match db {
        Db::Postgres(pool, _) => {
            PostgresEventRepository::new(pool.clone())
                .get_events::<A>(aggregate_id)
                .await?
        }
        Db::Sqlite(pool, _) => {
            SqliteEventRepository::new(pool.clone())
                .get_events::<A>(aggregate_id)
                .await?
        }
    };
    reveal(db, &mut events, &mut KeyRing::default()).await?;
    Ok(events)
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
    load_keeping_keys(db, aggregate_id, &mut KeyRing::default()).await
}

/// [`load`], keeping in `ring` the keys that revealed the history (a command
/// seals its new events with the same subject's key).
pub async fn load_keeping_keys<A: Decider>(
    db: &Db,
    aggregate_id: &str,
    ring: &mut KeyRing,
) -> Result<Loaded<A>, LoadError> {
    let rows: Vec<StreamRow> = db.fetch_all(CURRENT, args![A::TYPE, aggregate_id]).await?;
    let (mut state, mut version) = (A::default(), 0);
    let mut events = Vec::with_capacity(rows.len());
    for row in rows {
        match (row.event_type, row.event_version) {
            (Some(event_type), Some(event_version)) => events.push(SerializedEvent {
                aggregate_id: aggregate_id.to_owned(),
                sequence: usize::try_from(row.sequence).unwrap_or(0),
                aggregate_type: A::TYPE.to_owned(),
                event_type,
                event_version,
                payload: row.payload,
                metadata: serde_json::Value::Null,
            }),
            _ => {
                state = serde_json::from_value::<A>(row.payload)?;
                version = row.sequence;
            }
        }
    }
    reveal(db, &mut events, ring).await?;
    for (seq, event) in decode::<A>(events)? {
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
    for (seq, event) in decode::<A>(all_events::<A>(db, aggregate_id).await?)? {
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
