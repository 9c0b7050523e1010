//! Running projectors together: one read of the log per batch for all of
//! them, and one transaction that applies the batch to each and moves all
//! their checkpoints. A server runs two such groups side by side
//! ([`crate::groups`]), so the lists do not wait for the SLA folds.
//!
//! Run apart, each projector read the log, opened a transaction and saved its
//! checkpoint for every event: twelve reads, twelve transactions and twelve
//! checkpoint writes per command, a third of the statements the server sent
//! per event. Together they cost one read, one transaction and one
//! checkpoint statement.
//!
//! Each projector still has its own leader lock, version, checkpoint and
//! rebuilds: a member joins the group once it holds its lock and its tables
//! are at its version ([`runner::prepare`], in a task of its own, so a slow
//! migration does not hold the others), and leaves it to rebuild (in a task
//! of its own too) or after a failure. The members may stand at different
//! positions (one just rebuilt, one just joined): the group reads from the
//! furthest behind and gives each member only the events after its own
//! checkpoint. When applying together fails, the batch is applied member by
//! member in transactions of their own, so one failing projector stops
//! only itself: it leaves the group, lets go of its lock and joins again a
//! second later, as a lone runner did.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use tgcrm_domain::Clock;
use tgcrm_store::notify::HeldBack;
use tgcrm_store::reader::{EventFilter, read_batch};
use tgcrm_store::shutdown::Stop;
use tgcrm_store::{Db, EventStore, Position, StoredEvent, checkpoints};

use crate::consistency::Consistency;
use crate::lock::{self, LeaderLock};
use crate::projector::Projector;
use crate::runner::{RunnerConfig, commit_batch, prepare};

/// How often the group looks for rebuild requests.
const REQUEST_CHECK_INTERVAL: Duration = Duration::from_secs(1);
/// How often the group looks whether its tables' planner statistics are stale.
const STATISTICS_INTERVAL: Duration = Duration::from_secs(30);
/// How long a member that failed waits before it tries to lead again.
const REJOIN_AFTER: Duration = Duration::from_secs(1);

/// A projector the group runs: it holds the projector's lock.
struct Member {
    projector: Arc<dyn Projector>,
    _lock: LeaderLock,
    position: Position,
}

/// Run `projectors` until `stop`.
pub async fn run(
    store: EventStore,
    projectors: Vec<Arc<dyn Projector>>,
    consistency: Consistency,
    clock: Arc<dyn Clock>,
    config: RunnerConfig,
    stop: Stop,
) {
    let db = store.db().clone();
    let mut wake = store.subscribe();
    let (joined, mut joins) = mpsc::unbounded_channel::<Member>();
    let joiner = Joiner {
        db: db.clone(),
        clock: clock.clone(),
        stop: stop.clone(),
        joined,
    };
    // Beside the group, not in its loop: analyzing a large table takes
    // hundreds of milliseconds, which every member would wait for.
    tokio::spawn(refresh_statistics(
        db.clone(),
        projectors
            .iter()
            .flat_map(|p| p.tables().iter().copied())
            .collect(),
        stop.clone(),
    ));
    for p in projectors {
        joiner.spawn(p, Duration::ZERO);
    }
    let mut members: Vec<Member> = Vec::new();
    let mut last_request_check: Option<Instant> = None;
    let mut held_back = HeldBack::default();
    loop {
        if stop.is_stopped() {
            return;
        }
        while let Ok(m) = joins.try_recv() {
            admit(&consistency, &mut members, m);
        }
        // Rebuild requests are rare: look for them at most once a second,
        // in one statement for the whole group.
        if last_request_check.is_none_or(|t| t.elapsed() >= REQUEST_CHECK_INTERVAL) {
            last_request_check = Some(Instant::now());
            match crate::shadow::requested(&db).await {
                Ok(names) => {
                    for m in take(&mut members, |m| names.contains(m.projector.name())) {
                        joiner.rebuild(m, consistency.clone());
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not check for rebuild requests"),
            }
        }
        // Before the read: a write that commits after it wakes the wait below.
        let appended = *wake.borrow_and_update();
        let outcome = step(&db, &mut members, config.batch_size, clock.now()).await;
        for m in members
            .iter()
            .filter(|m| outcome.moved.contains(m.projector.name()))
        {
            consistency.publish(m.projector.name(), m.position);
        }
        // A failed read (the database may be gone, and the locks with its
        // session) or a failed batch: those members lead again from the start.
        for m in take(&mut members, |m| {
            outcome.failed.contains(m.projector.name())
        }) {
            joiner.spawn(m.projector.clone(), REJOIN_AFTER);
        }
        if !outcome.moved.is_empty() {
            held_back.reset();
        }
        // A short read saw everything there was: wait for the next write
        // rather than read again to find nothing (a write since the read
        // began has already signalled the wake-up).
        if outcome.full {
            continue;
        }
        let behind = members.iter().any(|m| appended.is_ahead_of(m.position));
        let pause = held_back.pause(behind, config.poll_interval);
        tokio::select! {
            _ = stop.stopped() => return,
            _ = wake.changed() => {}
            Some(m) = joins.recv() => admit(&consistency, &mut members, m),
            _ = tokio::time::sleep(pause) => {}
        }
    }
}

fn admit(consistency: &Consistency, members: &mut Vec<Member>, m: Member) {
    tracing::info!(projector = m.projector.name(), from = %m.position, "projector running");
    consistency.publish(m.projector.name(), m.position);
    members.push(m);
}

/// Remove and return the members that match.
fn take(members: &mut Vec<Member>, which: impl Fn(&Member) -> bool) -> Vec<Member> {
    let (out, keep) = std::mem::take(members).into_iter().partition(which);
    *members = keep;
    out
}

/// Every [`STATISTICS_INTERVAL`], analyze those of `tables` whose planner
/// statistics are stale (see [`crate::statistics`]) until `stop`.
async fn refresh_statistics(db: Db, tables: Vec<&'static str>, stop: Stop) {
    loop {
        if stop.sleep_or_stop(STATISTICS_INTERVAL).await {
            return;
        }
        match crate::statistics::refresh(&db, &tables).await {
            Ok(t) if !t.is_empty() => tracing::debug!(tables = ?t, "analyzed"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not analyze"),
        }
    }
}

/// Brings projectors into the group: takes the lock, prepares the tables.
#[derive(Clone)]
struct Joiner {
    db: Db,
    clock: Arc<dyn Clock>,
    stop: Stop,
    joined: mpsc::UnboundedSender<Member>,
}

impl Joiner {
    /// Lead `projector` (after `delay`) and hand it to the group.
    fn spawn(&self, projector: Arc<dyn Projector>, delay: Duration) {
        let j = self.clone();
        tokio::spawn(async move {
            if j.stop.sleep_or_stop(delay).await {
                return;
            }
            if let Some(m) = lead(&j.db, projector, j.clock.as_ref(), &j.stop).await {
                let _ = j.joined.send(m);
            }
        });
    }

    /// Rebuild the member's tables (it keeps its lock) and hand it back.
    fn rebuild(&self, mut m: Member, consistency: Consistency) {
        let j = self.clone();
        tokio::spawn(async move {
            let name = m.projector.name();
            tracing::info!(projector = name, "rebuilding on request");
            let started = Instant::now();
            match crate::shadow::rebuild(&j.db, m.projector.as_ref(), j.clock.as_ref(), |_| {})
                .await
            {
                Ok((p, n)) => {
                    m.position = p;
                    consistency.publish(name, p);
                    tracing::info!(
                        projector = name,
                        events = n,
                        seconds = started.elapsed().as_secs_f64(),
                        "rebuilt"
                    );
                    let _ = j.joined.send(m);
                }
                Err(e) => {
                    tracing::error!(projector = name, error = ?e, "rebuild failed; retrying");
                    let projector = m.projector.clone();
                    drop(m);
                    j.spawn(projector, REJOIN_AFTER);
                }
            }
        });
    }
}

/// Become the one runner of `projector` and bring its tables to its version;
/// `None` when stopped first.
async fn lead(
    db: &Db,
    projector: Arc<dyn Projector>,
    clock: &dyn Clock,
    stop: &Stop,
) -> Option<Member> {
    let name = projector.name();
    loop {
        let lock = match lock::try_acquire(db, name).await {
            Ok(Some(l)) => l,
            Ok(None) => {
                tracing::debug!(
                    projector = name,
                    "another process runs this projector; standing by"
                );
                if stop.sleep_or_stop(Duration::from_secs(2)).await {
                    return None;
                }
                continue;
            }
            Err(e) => {
                tracing::warn!(projector = name, error = %e, "could not take the projector lock");
                if stop.sleep_or_stop(Duration::from_secs(2)).await {
                    return None;
                }
                continue;
            }
        };
        loop {
            match prepare(db, projector.as_ref(), clock.now()).await {
                Ok(position) => {
                    return Some(Member {
                        projector,
                        _lock: lock,
                        position,
                    });
                }
                Err(e) => {
                    tracing::error!(projector = name, error = ?e, "preparing projector tables failed");
                    if stop.sleep_or_stop(Duration::from_secs(2)).await {
                        return None;
                    }
                }
            }
        }
    }
}

/// What the members read together: the aggregate types any of them reads,
/// or everything when one of them reads everything.
pub(crate) fn shared_filter<'a>(
    projectors: impl Iterator<Item = &'a dyn Projector> + Clone,
) -> EventFilter {
    let mut filter = EventFilter::default();
    if projectors.clone().all(|p| !p.reads().is_empty()) {
        for p in projectors {
            for t in p.reads() {
                if !filter.aggregate_types.iter().any(|have| have == t) {
                    filter.aggregate_types.push((*t).to_owned());
                }
            }
        }
    }
    filter
}

/// The events of `events` a member at `after` that reads `reads` applies:
/// the batch itself when that is all of it (the usual case: members stand
/// together and most read tickets), otherwise a copy of its share.
fn for_member<'e>(
    events: &'e [StoredEvent],
    after: Position,
    reads: &[&str],
) -> Cow<'e, [StoredEvent]> {
    let wanted = |e: &StoredEvent| {
        e.position > after && (reads.is_empty() || reads.contains(&e.aggregate_type.as_str()))
    };
    if events.iter().all(wanted) {
        Cow::Borrowed(events)
    } else {
        Cow::Owned(events.iter().filter(|e| wanted(e)).cloned().collect())
    }
}

/// What one batch did: which members moved, which failed (and must leave
/// the group).
#[derive(Debug, Default)]
struct Outcome {
    moved: HashSet<&'static str>,
    failed: HashSet<&'static str>,
    /// The read came back with a whole batch: there may be more.
    full: bool,
}

/// One batch for the whole group.
async fn step(
    db: &Db,
    members: &mut [Member],
    batch_size: i64,
    now: chrono::DateTime<chrono::Utc>,
) -> Outcome {
    let Some(from) = members.iter().map(|m| m.position).min() else {
        return Outcome::default();
    };
    let filter = shared_filter(members.iter().map(|m| m.projector.as_ref()));
    let (events, reached) = match read_batch(db, from, batch_size, &filter).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "reading the log failed");
            return Outcome {
                failed: members.iter().map(|m| m.projector.name()).collect(),
                ..Outcome::default()
            };
        }
    };
    // Everything a member reads up to `reached` is in `events`: it may move
    // there (a member already past it stays where it is).
    let batches: Vec<(usize, Cow<'_, [StoredEvent]>)> = (0..members.len())
        .filter(|&i| members[i].position < reached)
        .map(|i| {
            let m = &members[i];
            (i, for_member(&events, m.position, m.projector.reads()))
        })
        .collect();
    let mut outcome = Outcome {
        full: events.len() as i64 >= batch_size,
        ..Outcome::default()
    };
    let mut moved = Vec::new();
    match apply_together(db, members, &batches, reached, now).await {
        Ok(()) => moved.extend(batches.iter().map(|(i, b)| (*i, b.len()))),
        Err(e) => {
            tracing::warn!(error = ?e, "applying a batch to the projectors together failed; applying it to each alone");
            for (i, batch) in &batches {
                let p = members[*i].projector.as_ref();
                match commit_batch(db, p, batch, reached, now).await {
                    Ok(()) => moved.push((*i, batch.len())),
                    Err(e) => {
                        tracing::error!(projector = p.name(), error = ?e, "projector batch failed; retrying");
                        outcome.failed.insert(p.name());
                    }
                }
            }
        }
    }
    for (i, n) in moved {
        let m = &mut members[i];
        m.position = reached;
        let name = m.projector.name();
        metrics::counter!("projector_events_total", "projector" => name).increment(n as u64);
        metrics::gauge!("projector_position", "projector" => name).set(reached.position as f64);
        outcome.moved.insert(name);
    }
    outcome
}

/// Every member's batch and checkpoint in one transaction.
async fn apply_together(
    db: &Db,
    members: &[Member],
    batches: &[(usize, Cow<'_, [StoredEvent]>)],
    reached: Position,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    let mut saved = Vec::with_capacity(batches.len());
    for (i, batch) in batches {
        let p = members[*i].projector.as_ref();
        if !batch.is_empty() {
            p.apply_batch(&mut tx, batch)
                .await
                .map_err(|e| e.context(format!("projector {}", p.name())))?;
        }
        saved.push((p.name(), p.version()));
    }
    checkpoints::save_many_in(&mut tx, &saved, reached, now).await?;
    tx.commit().await?;
    Ok(())
}
