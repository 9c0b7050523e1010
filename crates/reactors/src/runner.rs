//! Running a reactor: become its one runner (advisory lock), resume from its
//! checkpoint, handle events in log order, and move the checkpoint after each
//! batch.

use std::sync::Arc;
use std::time::Duration;

use tgcrm_domain::Clock;
use tgcrm_projections::lock;
use tgcrm_store::notify::HeldBack;
use tgcrm_store::reader::{head, read_batch};
use tgcrm_store::shutdown::Stop;
use tgcrm_store::{EventStore, Position, checkpoints};

use crate::reactor::{ReactError, Reactor, StartAt};

const VERSION: i64 = 1;

#[derive(Debug, Clone, Copy)]
pub struct ReactorConfig {
    pub batch_size: i64,
    pub poll_interval: Duration,
    /// First pause after a failure; doubles up to `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for ReactorConfig {
    fn default() -> Self {
        Self {
            batch_size: 200,
            poll_interval: Duration::from_millis(500),
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
        }
    }
}

pub fn checkpoint_name(reactor: &dyn Reactor) -> String {
    format!("reactor:{}", reactor.name())
}

async fn resume_from(
    store: &EventStore,
    reactor: &dyn Reactor,
    clock: &dyn Clock,
) -> anyhow::Result<Position> {
    let name = checkpoint_name(reactor);
    if let Some(cp) = checkpoints::load(store.db(), &name).await? {
        return Ok(cp.position);
    }
    let start = match reactor.start_at() {
        StartAt::Beginning => Position::START,
        StartAt::End => head(store.db()).await?,
    };
    checkpoints::save(store.db(), &name, VERSION, start, clock.now()).await?;
    Ok(start)
}

/// Run until `stop`.
pub async fn run(
    store: EventStore,
    reactor: Arc<dyn Reactor>,
    clock: Arc<dyn Clock>,
    config: ReactorConfig,
    stop: Stop,
) {
    let name = checkpoint_name(reactor.as_ref());
    let db = store.db().clone();
    let mut wake = store.subscribe();
    let filter = reactor.filter();
    let mut backoff = config.min_backoff;
    let mut held_back = HeldBack::default();
    'leadership: loop {
        let _lock = loop {
            match lock::try_acquire(&db, &name).await {
                Ok(Some(l)) => break l,
                Ok(None) => {
                    tracing::debug!(reactor = %name, "another process runs this reactor; standing by")
                }
                Err(e) => {
                    tracing::warn!(reactor = %name, error = %e, "could not take the reactor lock")
                }
            }
            if stop.sleep_or_stop(Duration::from_secs(2)).await {
                return;
            }
        };
        let mut position = match resume_from(&store, reactor.as_ref(), clock.as_ref()).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(reactor = %name, error = ?e, "could not read the reactor's checkpoint");
                if stop.sleep_or_stop(Duration::from_secs(2)).await {
                    return;
                }
                continue 'leadership;
            }
        };
        tracing::info!(reactor = %name, from = %position, "reactor running");
        loop {
            if stop.is_stopped() {
                return;
            }
            // A reactor that reads only some events would otherwise never move
            // its checkpoint past a tail of events it does not read, and would
            // look behind for ever: a filtered read also says how far the log
            // reached in the same snapshot, which is safe to pass.
            // Before the read: a write that commits after it wakes the wait below.
            let appended = *wake.borrow_and_update();
            let (events, horizon) =
                match read_batch(&db, position, config.batch_size, &filter).await {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::warn!(reactor = %name, error = %e, "reading the log failed");
                        if stop.sleep_or_stop(backoff).await {
                            return;
                        }
                        backoff = (backoff * 2).min(config.max_backoff);
                        continue 'leadership;
                    }
                };
            // A short read saw everything there was: after handling it, wait
            // for the next write rather than read again to find nothing (a
            // write since the read began has already signalled the wake-up).
            let short = (events.len() as i64) < config.batch_size;
            if !events.is_empty() {
                held_back.reset();
            }
            // The checkpoint moves once per batch, not once per event: a
            // reactor must be idempotent (the same event may come again
            // after a crash), and one statement per batch is what lets a
            // busy log's batches cost less per event.
            let from = position;
            for event in &events {
                let mut saved_before_retry = false;
                loop {
                    match reactor.react(event).await {
                        Ok(()) => {
                            backoff = config.min_backoff;
                            break;
                        }
                        Err(ReactError::Skip(e)) => {
                            tracing::error!(reactor = %name, position = %event.position, event_type = %event.event_type, error = ?e, "event skipped");
                            break;
                        }
                        Err(ReactError::Retry(e)) => {
                            tracing::warn!(reactor = %name, position = %event.position, error = ?e, "reaction failed; retrying");
                            // What is handled stays handled while this one waits.
                            if !saved_before_retry && position > from {
                                saved_before_retry =
                                    checkpoints::save(&db, &name, VERSION, position, clock.now())
                                        .await
                                        .is_ok();
                            }
                            if stop.sleep_or_stop(backoff).await {
                                return;
                            }
                            backoff = (backoff * 2).min(config.max_backoff);
                        }
                    }
                }
                position = event.position;
            }
            // A short read may also pass the tail of events it does not read.
            if short && horizon > position {
                position = horizon;
            }
            if position > from
                && let Err(e) = checkpoints::save(&db, &name, VERSION, position, clock.now()).await
            {
                tracing::warn!(reactor = %name, error = %e, "saving the checkpoint failed; the batch may be handled again");
                continue 'leadership;
            }
            if !short {
                continue;
            }
            let pause = held_back.pause(appended.is_ahead_of(position), config.poll_interval);
            tokio::select! {
                _ = stop.stopped() => return,
                _ = wake.changed() => {}
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}
