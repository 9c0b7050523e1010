//! `crm replay`: rebuild projections from position zero with a progress bar.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use tgcrm_domain::Clock;
use tgcrm_store::reader::{EventFilter, count_events};
use tgcrm_store::{Backend, Db, Position, StoredEvent, checkpoints};

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
            Some(held) => here.push((p.as_ref(), held, bar(&bars, p.as_ref(), total))),
            None => there.push((p.as_ref(), bar(&bars, p.as_ref(), total))),
        }
    }
    let mut reports = together(db, &here, clock, total, jobs).await?;
    drop(here);
    for (p, bar) in there {
        let started = Instant::now();
        follow(db, p, clock, &bar, total).await?;
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

/// The shared read: see [`rebuild_all`]. Each report's time is what its
/// projector spent applying (they overlap).
async fn together(
    db: &Db,
    held: &[(&dyn Projector, LeaderLock, ProgressBar)],
    clock: &dyn Clock,
    total: u64,
    jobs: usize,
) -> anyhow::Result<Vec<RebuildReport>> {
    use futures::{StreamExt, TryStreamExt};
    if held.is_empty() {
        return Ok(vec![]);
    }
    let mut builds = Vec::new();
    for (p, _, bar) in held {
        builds.push((Build::begin(db, *p, clock).await?, bar, Mutex::new(0.0f64)));
    }
    // What any of them reads (everything, if one reads everything).
    let mut filter = EventFilter::default();
    if held.iter().all(|(p, _, _)| !p.reads().is_empty()) {
        for (p, _, _) in held {
            for t in p.reads() {
                if !filter.aggregate_types.iter().any(|have| have == t) {
                    filter.aggregate_types.push((*t).to_owned());
                }
            }
        }
    }
    let filter = &filter;
    // SQLite's one connection reads between transactions, never beside one,
    // and serves one projector's transaction at a time.
    let prefetch = db.backend() == Backend::Postgres;
    let jobs = if prefetch { jobs.max(1) } else { 1 };
    let read = |from: Position| async move {
        tgcrm_store::reader::read_after(db, from, BATCH, filter).await
    };
    let mut position = Position::START;
    let mut batch = read(position).await?;
    while let Some(last) = batch.last().map(|e| e.position) {
        let subsets = Subsets::new(&batch);
        let apply = futures::stream::iter(builds.iter())
            .map(|(build, bar, busy)| {
                let events = subsets.of(build.projector());
                async move {
                    let started = Instant::now();
                    build.apply(db, &events, last, clock).await?;
                    *busy.lock().unwrap_or_else(|e| e.into_inner()) +=
                        started.elapsed().as_secs_f64();
                    bar.inc(subsets.len);
                    anyhow::Ok(())
                }
            })
            .buffer_unordered(jobs)
            .try_collect::<()>();
        batch = if prefetch {
            let (next, applied) = tokio::join!(read(last), apply);
            applied?;
            next?
        } else {
            apply.await?;
            read(last).await?
        };
        position = last;
    }
    let mut reports = Vec::new();
    for (build, bar, busy) in builds {
        let p = build.projector();
        let started = Instant::now();
        build.finish(db, position, clock, |k| bar.inc(k)).await?;
        // A projector that reads some aggregates only still went through
        // the whole log.
        let events = total.max(bar.position());
        bar.set_position(events);
        bar.finish();
        reports.push(RebuildReport {
            projector: p.name(),
            events,
            seconds: busy.into_inner().unwrap_or_else(|e| e.into_inner())
                + started.elapsed().as_secs_f64(),
        });
    }
    Ok(reports)
}

/// A batch's events as each projector reads them: the whole batch, or the
/// events of the aggregate types it names (made once per distinct list).
struct Subsets<'a> {
    batch: &'a [StoredEvent],
    len: u64,
    made: Mutex<HashMap<&'static [&'static str], Arc<Vec<StoredEvent>>>>,
}

impl<'a> Subsets<'a> {
    fn new(batch: &'a [StoredEvent]) -> Self {
        Self {
            batch,
            len: batch.len() as u64,
            made: Mutex::new(HashMap::new()),
        }
    }

    fn of(&self, p: &dyn Projector) -> Events<'a> {
        let reads = p.reads();
        if reads.is_empty()
            || self
                .batch
                .iter()
                .all(|e| reads.contains(&e.aggregate_type.as_str()))
        {
            return Events::All(self.batch);
        }
        let mut made = self.made.lock().unwrap_or_else(|e| e.into_inner());
        let some = made.entry(reads).or_insert_with(|| {
            Arc::new(
                self.batch
                    .iter()
                    .filter(|e| reads.contains(&e.aggregate_type.as_str()))
                    .cloned()
                    .collect(),
            )
        });
        Events::Some(some.clone())
    }
}

enum Events<'a> {
    All(&'a [StoredEvent]),
    Some(Arc<Vec<StoredEvent>>),
}

impl std::ops::Deref for Events<'_> {
    type Target = [StoredEvent];
    fn deref(&self) -> &[StoredEvent] {
        match self {
            Events::All(all) => all,
            Events::Some(some) => some,
        }
    }
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
            follow(db, projector, clock, &bar, total).await?;
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

/// A running server holds the projector: ask its runner to rebuild, and
/// follow along until it is done.
async fn follow(
    db: &Db,
    projector: &dyn Projector,
    clock: &dyn Clock,
    bar: &ProgressBar,
    total: u64,
) -> anyhow::Result<()> {
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
    bar.finish();
    Ok(())
}
