//! Running a projector: bring its tables to its version, then apply the log
//! in batches (one transaction per batch, checkpoint included). The loop
//! that leads and wakes is [`crate::group`]'s; these are its parts, shared
//! with rebuilds.

use std::sync::Arc;
use std::time::Duration;

use tgcrm_domain::Clock;
use tgcrm_store::checkpoints;
use tgcrm_store::reader::{EventFilter, read_batch};
use tgcrm_store::shutdown::Stop;
use tgcrm_store::{Db, EventStore, Position, StoredEvent};

use crate::consistency::Consistency;
use crate::projector::Projector;

#[derive(Debug, Clone, Copy)]
pub struct RunnerConfig {
    pub batch_size: i64,
    /// Poll even without a wake-up (the wake-up is only a hint).
    pub poll_interval: Duration,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            batch_size: 500,
            poll_interval: Duration::from_millis(500),
        }
    }
}

/// Create the projector's tables if they do not exist yet, so queries never
/// meet a missing table while the runner starts. Harmless when they exist;
/// a rebuild for a new version is still the runner's job.
pub async fn ensure_tables(db: &Db, projector: &dyn Projector) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    for stmt in projector.schema(db.backend()) {
        tx.execute(&stmt, vec![]).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Make the projector's tables match its version. Returns where to resume:
/// its checkpoint, or the start when it was (re)built.
pub async fn prepare(
    db: &Db,
    projector: &dyn Projector,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Position> {
    let current = checkpoints::load(db, projector.name()).await?;
    if let Some(c) = &current
        && c.version != projector.version()
        && c.version >= 0
        && db.backend() == tgcrm_store::Backend::Postgres
    {
        // A new version of a projector that has tables: build the new ones
        // beside the old, which stay readable until the swap.
        let clock = FixedNow(now);
        let (position, _) = crate::shadow::rebuild(db, projector, &clock, |_| {}).await?;
        return Ok(position);
    }
    let mut tx = db.begin().await?;
    let resume = match current {
        Some(c) if c.version == projector.version() => c.position,
        _ => {
            for table in projector.tables() {
                tx.execute(&format!("DROP TABLE IF EXISTS {table}"), vec![])
                    .await?;
            }
            checkpoints::save_in(
                &mut tx,
                projector.name(),
                projector.version(),
                Position::START,
                now,
            )
            .await?;
            Position::START
        }
    };
    for stmt in projector.schema(db.backend()) {
        tx.execute(&stmt, vec![]).await?;
    }
    tx.commit().await?;
    Ok(resume)
}

#[derive(Debug)]
struct FixedNow(chrono::DateTime<chrono::Utc>);

impl Clock for FixedNow {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.0
    }
}

/// What `projector` reads: the aggregate types it names, or everything.
pub fn filter_of(projector: &dyn Projector) -> EventFilter {
    EventFilter {
        aggregate_types: projector.reads().iter().map(|t| (*t).to_owned()).collect(),
        ..EventFilter::default()
    }
}

/// The next events after `from` that `projector` reads, and the position it
/// may move to: its last event, or, when a filtered read comes back short,
/// the head of the log as that read saw it (nothing the projector reads lies
/// in between). `None` when there is nothing to do.
pub async fn next_batch(
    db: &Db,
    projector: &dyn Projector,
    from: Position,
    batch_size: i64,
) -> anyhow::Result<Option<(Vec<StoredEvent>, Position)>> {
    let (events, reached) = read_batch(db, from, batch_size, &filter_of(projector)).await?;
    Ok((reached > from).then_some((events, reached)))
}

/// Apply one batch after `from`. `None` when there was nothing to read.
pub async fn apply_batch(
    db: &Db,
    projector: &dyn Projector,
    from: Position,
    batch_size: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<Option<(Position, usize)>> {
    let Some((events, last)) = next_batch(db, projector, from, batch_size).await? else {
        return Ok(None);
    };
    commit_batch(db, projector, &events, last, now).await?;
    // Lag gauges are sampled from the checkpoints (server `backlog_metrics`).
    Ok(Some((last, events.len())))
}

/// Apply `events` and move the checkpoint to `last`, in a transaction of
/// the projector's own.
pub(crate) async fn commit_batch(
    db: &Db,
    projector: &dyn Projector,
    events: &[StoredEvent],
    last: Position,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    if !events.is_empty() {
        projector.apply_batch(&mut tx, events).await?;
    }
    checkpoints::save_in(&mut tx, projector.name(), projector.version(), last, now).await?;
    tx.commit().await?;
    Ok(())
}

/// Run one projector until `stop`: a group of one (see [`crate::group`]).
/// Errors are logged and retried after a pause; the checkpoint guarantees
/// nothing is applied twice.
pub async fn run(
    store: EventStore,
    projector: Arc<dyn Projector>,
    consistency: Consistency,
    clock: Arc<dyn Clock>,
    config: RunnerConfig,
    stop: Stop,
) {
    crate::group::run(store, vec![projector], consistency, clock, config, stop).await;
}
