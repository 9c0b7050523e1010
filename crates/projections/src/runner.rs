//! Running a projector: become its one runner, bring its tables to its version,
//! then apply the log in batches (one transaction per batch, checkpoint
//! included), sleeping until woken or until the poll interval passes.

use std::sync::Arc;
use std::time::Duration;

use tgcrm_domain::Clock;
use tgcrm_store::checkpoints;
use tgcrm_store::reader::{EventFilter, read_after, read_reaching};
use tgcrm_store::shutdown::Stop;
use tgcrm_store::{Db, EventStore, Position, StoredEvent};

use crate::consistency::Consistency;
use crate::lock;
use crate::projector::Projector;

/// How often a running projector looks for a rebuild request.
const REQUEST_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// How often a runner looks whether its tables' planner statistics are stale.
const STATISTICS_INTERVAL: Duration = Duration::from_secs(30);

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
    let filter = filter_of(projector);
    let (events, reached) = if filter.is_filtered() {
        read_reaching(db, from, batch_size, &filter).await?
    } else {
        let events = read_after(db, from, batch_size, &filter).await?;
        let reached = events.last().map_or(from, |e| e.position);
        (events, reached)
    };
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
    let mut tx = db.begin().await?;
    if !events.is_empty() {
        projector.apply_batch(&mut tx, &events).await?;
    }
    checkpoints::save_in(&mut tx, projector.name(), projector.version(), last, now).await?;
    tx.commit().await?;
    // Lag gauges are sampled from the checkpoints (server `backlog_metrics`).
    Ok(Some((last, events.len())))
}

/// Run until `stop`. Errors are logged and retried after a pause; the
/// checkpoint guarantees nothing is applied twice.
pub async fn run(
    store: EventStore,
    projector: Arc<dyn Projector>,
    consistency: Consistency,
    clock: Arc<dyn Clock>,
    config: RunnerConfig,
    stop: Stop,
) {
    let name = projector.name();
    let db = store.db().clone();
    let mut wake = store.subscribe();
    'leadership: loop {
        let _lock = loop {
            match lock::try_acquire(&db, name).await {
                Ok(Some(l)) => break l,
                Ok(None) => tracing::debug!(
                    projector = name,
                    "another process runs this projector; standing by"
                ),
                Err(e) => {
                    tracing::warn!(projector = name, error = %e, "could not take the projector lock")
                }
            }
            if stop.sleep_or_stop(Duration::from_secs(2)).await {
                return;
            }
        };
        let mut position = loop {
            match prepare(&db, projector.as_ref(), clock.now()).await {
                Ok(p) => break p,
                Err(e) => {
                    tracing::error!(projector = name, error = ?e, "preparing projector tables failed");
                    if stop.sleep_or_stop(Duration::from_secs(2)).await {
                        return;
                    }
                }
            }
        };
        tracing::info!(projector = name, from = %position, "projector running");
        consistency.publish(name, position);
        let mut last_request_check = None;
        let mut last_statistics = std::time::Instant::now();
        loop {
            if stop.is_stopped() {
                return;
            }
            if last_statistics.elapsed() >= STATISTICS_INTERVAL {
                last_statistics = std::time::Instant::now();
                match crate::statistics::refresh(&db, projector.tables()).await {
                    Ok(t) if !t.is_empty() => {
                        tracing::debug!(projector = name, tables = ?t, "analyzed")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(projector = name, error = %e, "could not analyze"),
                }
            }
            // Rebuild requests are rare: look for one at most once a second,
            // not on every batch (it was a fifth of the statements per event).
            let requested = if last_request_check
                .is_none_or(|t: std::time::Instant| t.elapsed() >= REQUEST_CHECK_INTERVAL)
            {
                last_request_check = Some(std::time::Instant::now());
                crate::shadow::is_requested(&db, name).await
            } else {
                Ok(false)
            };
            match requested {
                Ok(true) => {
                    tracing::info!(projector = name, "rebuilding on request");
                    let started = std::time::Instant::now();
                    match crate::shadow::rebuild(&db, projector.as_ref(), clock.as_ref(), |_| {})
                        .await
                    {
                        Ok((p, n)) => {
                            position = p;
                            consistency.publish(name, position);
                            tracing::info!(
                                projector = name,
                                events = n,
                                seconds = started.elapsed().as_secs_f64(),
                                "rebuilt"
                            );
                        }
                        Err(e) => {
                            tracing::error!(projector = name, error = ?e, "rebuild failed; retrying");
                            if stop.sleep_or_stop(Duration::from_secs(1)).await {
                                return;
                            }
                            continue 'leadership;
                        }
                    }
                    continue;
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(projector = name, error = %e, "could not check for rebuild requests")
                }
            }
            match apply_batch(
                &db,
                projector.as_ref(),
                position,
                config.batch_size,
                clock.now(),
            )
            .await
            {
                Ok(Some((last, n))) => {
                    position = last;
                    consistency.publish(name, position);
                    metrics::counter!("projector_events_total", "projector" => name)
                        .increment(n as u64);
                    metrics::gauge!("projector_position", "projector" => name)
                        .set(position.position as f64);
                }
                Ok(None) => {
                    wake.borrow_and_update();
                    tokio::select! {
                        _ = stop.stopped() => return,
                        _ = wake.changed() => {}
                        _ = tokio::time::sleep(config.poll_interval) => {}
                    }
                }
                Err(e) => {
                    tracing::error!(projector = name, error = ?e, "projector batch failed; retrying");
                    if stop.sleep_or_stop(Duration::from_secs(1)).await {
                        return;
                    }
                    // The lock's connection may be gone with the database: start over.
                    continue 'leadership;
                }
            }
        }
    }
}
