//! How far behind the log every subscriber is, sampled from the checkpoints
//! (not from the runners), so every node reports the same figures whichever
//! node runs a projector or reactor, and a runner that is stuck or dead shows
//! up as a growing backlog instead of a silent gauge.
//!
//! - `projector_lag_events` / `projector_lag_seconds` per projector,
//! - `reactor_backlog_events` / `reactor_backlog_seconds` per reactor
//!   (checkpoints named `reactor:*`),
//! - `webhook_deliveries_pending`: deliveries waiting to be sent.
//!
//! Events are counted as log positions after the checkpoint (on Postgres a
//! rolled-back append leaves a gap, so the figure can be a little high);
//! seconds are the age of the oldest event not yet handled, 0 when caught up.

use std::time::Duration;

use chrono::Utc;
use tgcrm_store::Db;
use tgcrm_store::shutdown::Stop;

/// How often the gauges are refreshed.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// Refresh the gauges every [`INTERVAL`] until `stop`.
pub async fn run(db: Db, stop: Stop) {
    loop {
        if let Err(e) = sample(&db).await {
            tracing::debug!(error = %e, "sampling subscriber backlogs failed");
        }
        if stop.sleep_or_stop(INTERVAL).await {
            return;
        }
    }
}

/// One sample of every gauge.
pub async fn sample(db: &Db) -> anyhow::Result<()> {
    let now = Utc::now();
    for b in tgcrm_store::checkpoints::backlogs(db).await? {
        let seconds = b.oldest_unhandled.map_or(0.0, |t| {
            ((now - t).num_milliseconds().max(0) as f64) / 1000.0
        });
        let events = b.events as f64;
        match b.name.strip_prefix("reactor:") {
            Some(reactor) => {
                let reactor = reactor.to_owned();
                metrics::gauge!("reactor_backlog_events", "reactor" => reactor.clone()).set(events);
                metrics::gauge!("reactor_backlog_seconds", "reactor" => reactor).set(seconds);
            }
            None => {
                metrics::gauge!("projector_lag_events", "projector" => b.name.clone()).set(events);
                metrics::gauge!("projector_lag_seconds", "projector" => b.name).set(seconds);
            }
        }
    }
    let pending: i64 = tgcrm_webhooks::worker::pending_counts(db)
        .await?
        .values()
        .sum();
    metrics::gauge!("webhook_deliveries_pending").set(pending as f64);
    Ok(())
}
