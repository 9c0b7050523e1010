//! `crm replay`: rebuild projections from position zero with a progress bar.

use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tgcrm_domain::Clock;
use tgcrm_store::reader::count_events;
use tgcrm_store::{Db, checkpoints};

use crate::lock;
use crate::projector::Projector;

#[derive(Debug, Clone)]
pub struct RebuildReport {
    pub projector: &'static str,
    /// Events of the log it went through (it may read only some of them).
    pub events: u64,
    pub seconds: f64,
}

impl RebuildReport {
    pub fn events_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.events as f64 / self.seconds
        } else {
            self.events as f64
        }
    }
}

/// Rebuild the projector from the start of the log. If a running server holds
/// the projector, it is asked to rebuild (in shadow tables, without taking
/// the API down) and this waits for it; otherwise the rebuild happens here.
pub async fn rebuild(
    db: &Db,
    projector: &dyn Projector,
    clock: &dyn Clock,
    show_progress: bool,
) -> anyhow::Result<RebuildReport> {
    let bars = bars(show_progress);
    rebuild_with(db, projector, clock, &bars).await
}

/// Rebuild all `projectors`, up to `jobs` at a time, each with its own
/// progress line. Projectors share nothing but the log they read, so while
/// one waits on the database another computes: on two cores, rebuilding them
/// side by side takes about as long as the slowest, not the sum.
pub async fn rebuild_all(
    db: &Db,
    projectors: &[std::sync::Arc<dyn Projector>],
    clock: &dyn Clock,
    show_progress: bool,
    jobs: usize,
) -> anyhow::Result<Vec<RebuildReport>> {
    use futures::{StreamExt, TryStreamExt};
    let bars = bars(show_progress);
    futures::stream::iter(projectors.iter())
        .map(|p| rebuild_with(db, p.as_ref(), clock, &bars))
        .buffered(jobs.max(1))
        .try_collect()
        .await
}

fn bars(show: bool) -> MultiProgress {
    if show {
        MultiProgress::new()
    } else {
        MultiProgress::with_draw_target(ProgressDrawTarget::hidden())
    }
}

async fn rebuild_with(
    db: &Db,
    projector: &dyn Projector,
    clock: &dyn Clock,
    bars: &MultiProgress,
) -> anyhow::Result<RebuildReport> {
    let total = u64::try_from(count_events(db).await?).unwrap_or(0);
    let bar = bars.add(ProgressBar::new(total));
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>15} [{bar:40}] {pos}/{len} events {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(projector.name());
    let started = Instant::now();
    let events = match lock::try_acquire(db, projector.name()).await? {
        Some(_lock) => {
            let (_, n) = crate::shadow::rebuild(db, projector, clock, |k| bar.inc(k)).await?;
            // A projector that reads some aggregates only still went through
            // the whole log.
            bar.set_position(total.max(n));
            total.max(n)
        }
        None => {
            // A running server holds it: ask its runner, and follow along.
            crate::shadow::request(db, projector.name(), clock).await?;
            bar.set_message("rebuilding in the running server");
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                if let Some(cp) =
                    checkpoints::load(db, &crate::shadow::progress_name(projector.name())).await?
                {
                    bar.set_position(u64::try_from(cp.position.position).unwrap_or(0).min(total));
                }
                if !crate::shadow::is_requested(db, projector.name()).await? {
                    break;
                }
            }
            total
        }
    };
    bar.finish();
    Ok(RebuildReport {
        projector: projector.name(),
        events,
        seconds: started.elapsed().as_secs_f64(),
    })
}
