//! `crm replay`: rebuild projections from position zero with a progress bar.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tgcrm_domain::Clock;
use tgcrm_store::reader::count_events;
use tgcrm_store::{Backend, Db, Position, StoredEvent, checkpoints};

use crate::group::shared_filter;
use crate::lock::{self, LeaderLock};
use crate::projector::Projector;
use crate::shadow::{BATCH, Build};

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

/// Rebuild all `projectors` from one read of the log: each batch is read
/// and decrypted once, then handed to every projector (up to `jobs` of them
/// applying it at the same time, while the next batch is read). Projectors a
/// running server holds are asked to rebuild there, and followed.
pub async fn rebuild_all(
    db: &Db,
    projectors: &[Arc<dyn Projector>],
    clock: &dyn Clock,
    show_progress: bool,
    jobs: usize,
) -> anyhow::Result<Vec<RebuildReport>> {
    let bars = bars(show_progress);
    let total = u64::try_from(count_events(db).await?).unwrap_or(0);
    let mut here = Vec::new();
    let mut there = Vec::new();
    for p in projectors {
        match lock::try_acquire(db, p.name()).await? {
            Some(held) => here.push((p.clone(), held, bar(&bars, p.as_ref(), total))),
            None => {
                // A running server holds it: ask its runner (all at once,
                // so they rebuild side by side), and follow along below.
                crate::shadow::request(db, p.name(), clock).await?;
                there.push((p.as_ref(), bar(&bars, p.as_ref(), total)));
            }
        }
    }
    let mut reports = together(db, &here, clock, total, jobs).await?;
    drop(here);
    for (p, bar) in there {
        let started = Instant::now();
        follow(db, p, &bar, total).await?;
        reports.push(RebuildReport {
            projector: p.name(),
            events: total,
            seconds: started.elapsed().as_secs_f64(),
        });
    }
    // In the order asked for.
    reports.sort_by_key(|r| projectors.iter().position(|p| p.name() == r.projector));
    Ok(reports)
}

/// The shared read: see [`rebuild_all`]. One reader hands each batch to
/// every projector through a short queue of its own, so projectors do not
/// wait for each other batch by batch (only the slowest holds the reader
/// back, a few batches ahead). Each projector applies in a task of its own,
/// so folds and encoding use every core; at most `jobs` apply at the same
/// time. Each report's time is what its projector spent applying (they
/// overlap).
async fn together(
    db: &Db,
    held: &[(Arc<dyn Projector>, LeaderLock, ProgressBar)],
    clock: &dyn Clock,
    total: u64,
    jobs: usize,
) -> anyhow::Result<Vec<RebuildReport>> {
    if held.is_empty() {
        return Ok(vec![]);
    }
    let filter = shared_filter(held.iter().map(|(p, _, _)| p.as_ref()));
    // SQLite serves one transaction at a time on its one connection.
    let permits = Arc::new(tokio::sync::Semaphore::new(match db.backend() {
        Backend::Postgres => jobs.max(1),
        Backend::Sqlite => 1,
    }));
    let mut queues = Vec::new();
    let mut appliers = Vec::new();
    for (p, _, bar) in held {
        let build = Build::begin(db, p.clone(), clock).await?;
        let (queue, mut batches) = tokio::sync::mpsc::channel::<Batch>(QUEUED);
        queues.push((queue, p.reads()));
        let (db, bar, permits) = (db.clone(), bar.clone(), permits.clone());
        appliers.push(tokio::spawn(async move {
            let mut busy = std::time::Duration::ZERO;
            while let Some(batch) = batches.recv().await {
                let _permit = permits.acquire().await?;
                let started = Instant::now();
                build
                    .apply(&db, &batch.events, batch.last, batch.read_at)
                    .await?;
                busy += started.elapsed();
                bar.inc(batch.len);
            }
            anyhow::Ok((build, bar, busy))
        }));
    }
    let reader = async move {
        let mut from = Position::START;
        'reading: loop {
            let events = tgcrm_store::reader::read_after(db, from, BATCH, &filter).await?;
            let Some(last) = events.last().map(|e| e.position) else {
                break;
            };
            let (len, read_at) = (events.len() as u64, clock.now());
            let events = Arc::new(events);
            let mut subsets = HashMap::new();
            for (queue, reads) in &queues {
                let events = subset(&events, reads, &mut subsets);
                let batch = Batch {
                    events,
                    len,
                    last,
                    read_at,
                };
                // A closed queue: its projector failed. Stop, so the others
                // finish and its error is the rebuild's.
                if queue.send(batch).await.is_err() {
                    break 'reading;
                }
            }
            from = last;
        }
        anyhow::Ok(from)
    };
    let built = async move {
        let mut built = Vec::new();
        for applier in appliers {
            built.push(applier.await??);
        }
        anyhow::Ok(built)
    };
    let (position, built) = tokio::try_join!(reader, built)?;
    let mut reports = Vec::new();
    for (build, bar, busy) in built {
        let name = build.projector().name();
        let started = Instant::now();
        build.finish(db, position, clock, |k| bar.inc(k)).await?;
        // A projector that reads some aggregates only still went through
        // the whole log.
        let events = total.max(bar.position());
        bar.set_position(events);
        bar.finish();
        reports.push(RebuildReport {
            projector: name,
            events,
            seconds: (busy + started.elapsed()).as_secs_f64(),
        });
    }
    Ok(reports)
}

/// Batches a projector may have waiting for it.
const QUEUED: usize = 4;

/// A batch as one projector reads it.
struct Batch {
    /// The events it reads, in log order.
    events: Arc<Vec<StoredEvent>>,
    /// How many events of the log the batch went through.
    len: u64,
    last: Position,
    /// When it was read: the time its checkpoint records.
    read_at: chrono::DateTime<chrono::Utc>,
}

/// `events` as a projector that reads `reads` sees them: all of them, or a
/// copy of those of its aggregate types, made once per distinct `reads`.
fn subset(
    events: &Arc<Vec<StoredEvent>>,
    reads: &'static [&'static str],
    made: &mut HashMap<&'static [&'static str], Arc<Vec<StoredEvent>>>,
) -> Arc<Vec<StoredEvent>> {
    // Once per distinct `reads` per batch, not once per projector.
    made.entry(reads)
        .or_insert_with(|| {
            let reads_it = |e: &StoredEvent| reads.contains(&e.aggregate_type.as_str());
            if reads.is_empty() || events.iter().all(reads_it) {
                events.clone()
            } else {
                Arc::new(events.iter().filter(|e| reads_it(e)).cloned().collect())
            }
        })
        .clone()
}

fn bar(bars: &MultiProgress, projector: &dyn Projector, total: u64) -> ProgressBar {
    let bar = bars.add(ProgressBar::new(total));
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>18} [{bar:40}] {pos}/{len} events {per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_prefix(projector.name());
    bar
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
    let bar = bar(bars, projector, total);
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
            follow(db, projector, &bar, total).await?;
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

/// Follow a rebuild asked of a running server's runner until it is done.
async fn follow(
    db: &Db,
    projector: &dyn Projector,
    bar: &ProgressBar,
    total: u64,
) -> anyhow::Result<()> {
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
    bar.finish();
    Ok(())
}
