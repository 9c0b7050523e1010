//! `crm replay`: rebuild projections from position zero with a progress bar.

use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use tgcrm_domain::Clock;
use tgcrm_store::reader::count_events;
use tgcrm_store::{Db, Position, checkpoints};

use crate::lock;
use crate::projector::Projector;
use crate::runner::{apply_batch, prepare};

#[derive(Debug, Clone)]
pub struct RebuildReport {
    pub projector: &'static str,
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

/// Drop the projector's tables, recreate them and apply the whole log.
pub async fn rebuild(
    db: &Db,
    projector: &dyn Projector,
    clock: &dyn Clock,
    show_progress: bool,
) -> anyhow::Result<RebuildReport> {
    let Some(_lock) = lock::try_acquire(db, projector.name()).await? else {
        anyhow::bail!(
            "projector {} is running in another process (a `crm serve`); stop it before replaying",
            projector.name()
        );
    };
    // Forget the checkpoint so `prepare` drops and recreates the tables.
    checkpoints::save(db, projector.name(), -1, Position::START, clock.now()).await?;
    let mut position = prepare(db, projector, clock.now()).await?;
    let total = u64::try_from(count_events(db).await?).unwrap_or(0);
    let bar = if show_progress {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>14} [{bar:40}] {pos}/{len} events {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(projector.name());
    let started = Instant::now();
    let mut events = 0u64;
    while let Some((last, n)) = apply_batch(db, projector, position, 2_000, clock.now()).await? {
        position = last;
        events += n as u64;
        bar.inc(n as u64);
    }
    bar.finish();
    Ok(RebuildReport {
        projector: projector.name(),
        events,
        seconds: started.elapsed().as_secs_f64(),
    })
}
