//! The event store handle: the database plus a wake-up signal for readers.
//! Appends in this process bump the signal directly. On Postgres, other
//! processes hear of them on the `crm_events` channel: an announcer sends one
//! NOTIFY per burst of this process's appends, after they committed and
//! outside their transactions, and a listener bumps the signal for other
//! processes' announcements. Readers still poll: the signal only shortens
//! the wait.
//!
//! Why not a NOTIFY in the append (an insert trigger, as before): a
//! transaction that notifies takes a cluster-wide lock at commit and holds
//! it through its WAL flush, so every append on the cluster committed one
//! after another. pgbench's append, the ceiling of `bench/`, went from
//! 9.6k to 3.6k transactions a second with such a trigger on its table
//! (`bench/ANALYSIS.md`, item 55).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::db::Db;
use crate::position::Position;

/// What a subscriber is told when the log may have grown: the newest
/// position this process has appended. A reader that has not passed it, yet
/// found nothing new, was held back (on Postgres an older transaction is
/// still open; see `reader`), and should look again soon rather than sleep
/// until the next write or poll: nothing else wakes it when that
/// transaction ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Appended {
    pub newest: Position,
    /// How many writes this process has told of (the announcer's cue; a
    /// wake-up from another process leaves it as it is).
    pub local: u64,
}

impl Appended {
    /// Whether a reader at `position` has not passed every write known here.
    pub fn is_ahead_of(&self, position: Position) -> bool {
        self.newest > position
    }
}

/// How soon a held-back reader looks again: twice as late each time it is
/// still held back, up to `max` (its poll interval), so a long transaction
/// elsewhere on the cluster costs a few reads, not hundreds a second.
#[derive(Debug, Clone, Copy)]
pub struct HeldBack {
    next: Duration,
}

impl Default for HeldBack {
    fn default() -> Self {
        Self::FIRST
    }
}

impl HeldBack {
    const FIRST: Self = Self {
        next: Duration::from_millis(2),
    };

    /// The pause before the next read, given what the last read found.
    pub fn pause(&mut self, held_back: bool, max: Duration) -> Duration {
        if !held_back {
            *self = Self::FIRST;
            return max;
        }
        let pause = self.next.min(max);
        self.next = (self.next * 2).min(max);
        pause
    }

    /// The reader moved: the next hold-up starts from the shortest pause.
    pub fn reset(&mut self) {
        *self = Self::FIRST;
    }
}

#[derive(Debug, Clone)]
pub struct EventStore {
    db: Db,
    wake: Arc<watch::Sender<Appended>>,
    stripes: Arc<Vec<tokio::sync::Mutex<()>>>,
    aggregates: crate::aggregate_cache::AggregateCache,
    keys: crate::key_cache::KeyCache,
    /// This handle's name on `crm_events`: its listener skips its own
    /// announcements (its readers were woken already).
    announcer_id: Arc<str>,
}

/// The channel appends are announced on.
const CHANNEL: &str = "crm_events";

/// One announcement. Its transaction does not wait for its WAL flush: an
/// announcement lost in a crash costs a reader one poll interval at most, and
/// the cluster-wide lock a NOTIFY takes at commit is held for less time.
const ANNOUNCE: &str = "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)";

/// The least time between two announcements of one process: a busy process
/// announces a few hundred times a second at most, and another process's
/// readers hear of a write a few milliseconds later at worst (its poll
/// interval without announcements).
const ANNOUNCE_GAP: Duration = Duration::from_millis(3);

/// Tell listening processes that the log has grown (on Postgres; nothing on
/// SQLite). For a process that appends without running
/// [`EventStore::spawn_announcer`], such as a CLI command, once its writes
/// have committed.
pub async fn announce(db: &Db) -> Result<(), crate::SqlError> {
    announce_as(db, "").await
}

async fn announce_as(db: &Db, id: &str) -> Result<(), crate::SqlError> {
    if db.pg().is_none() {
        return Ok(());
    }
    db.execute(ANNOUNCE, crate::args![CHANNEL, id])
        .await
        .map(|_| ())
}

/// Commands on one aggregate in this process take turns (a striped lock), so
/// they do not spend round trips losing version races to each other; races
/// with other processes are still settled by the append's primary key.
const STRIPES: usize = 256;

impl EventStore {
    pub fn new(db: Db) -> Self {
        let (tx, _rx) = watch::channel(Appended::default());
        Self {
            db,
            wake: Arc::new(tx),
            stripes: Arc::new((0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect()),
            aggregates: Default::default(),
            keys: Default::default(),
            announcer_id: uuid::Uuid::now_v7().to_string().into(),
        }
    }

    /// The aggregates this process last wrote (see [`crate::aggregate_cache`]).
    pub fn aggregates(&self) -> &crate::aggregate_cache::AggregateCache {
        &self.aggregates
    }

    /// The data subjects' keys this process read lately (see [`crate::key_cache`]).
    pub fn keys(&self) -> &crate::key_cache::KeyCache {
        &self.keys
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Wait for this process's turn on `aggregate_id`.
    pub async fn turn(&self, aggregate_id: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in aggregate_id.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        let i = usize::try_from(h % STRIPES as u64).unwrap_or(0);
        self.stripes[i].lock().await
    }

    /// Tell local readers that the log has grown.
    pub fn notify_appended(&self) {
        self.notify_appended_at(None);
    }

    /// Tell local readers that the log has grown up to `position` (the last
    /// event of a write that has committed).
    pub fn notify_appended_at(&self, position: Option<Position>) {
        self.wake.send_modify(|a| {
            if let Some(p) = position {
                a.newest = a.newest.max(p);
            }
            a.local = a.local.wrapping_add(1);
        });
    }

    /// A receiver that changes whenever the log may have grown.
    pub fn subscribe(&self) -> watch::Receiver<Appended> {
        self.wake.subscribe()
    }

    /// On Postgres, announce this process's writes to other processes until
    /// `stop` fires: one NOTIFY at a time, at most one per
    /// [`ANNOUNCE_GAP`]; the writes told of meanwhile make one more. Best
    /// effort, never needed for correctness.
    pub fn spawn_announcer(
        &self,
        stop: crate::shutdown::Stop,
    ) -> Option<tokio::task::JoinHandle<()>> {
        self.db.pg()?;
        let db = self.db.clone();
        let id = self.announcer_id.clone();
        let mut told = self.wake.subscribe();
        Some(tokio::spawn(async move {
            let mut announced = told.borrow_and_update().local;
            loop {
                tokio::select! {
                    _ = stop.stopped() => return,
                    changed = told.changed() => if changed.is_err() {
                        return;
                    },
                }
                let local = told.borrow_and_update().local;
                if local == announced {
                    // Another process's wake-up: not ours to repeat.
                    continue;
                }
                announced = local;
                let pause = match announce_as(&db, &id).await {
                    Ok(()) => ANNOUNCE_GAP,
                    Err(e) => {
                        tracing::debug!(error = %e, "announcing appends failed; other processes will poll");
                        Duration::from_millis(200)
                    }
                };
                // What is written meanwhile goes in the next announcement.
                if stop.sleep_or_stop(pause).await {
                    return;
                }
            }
        }))
    }

    /// On Postgres, listen for appends by other processes until `stop` fires.
    /// Reconnects after failures; never needed for correctness.
    pub fn spawn_listener(
        &self,
        stop: crate::shutdown::Stop,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let pool = self.db.pg()?.clone();
        let wake = self.wake.clone();
        let me = self.announcer_id.clone();
        Some(tokio::spawn(async move {
            loop {
                let mut listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "event listener could not connect; retrying");
                        if stop.sleep_or_stop(Duration::from_secs(2)).await {
                            return;
                        }
                        continue;
                    }
                };
                if let Err(e) = listener.listen(CHANNEL).await {
                    tracing::warn!(error = %e, "LISTEN crm_events failed; retrying");
                    if stop.sleep_or_stop(Duration::from_secs(2)).await {
                        return;
                    }
                    continue;
                }
                loop {
                    tokio::select! {
                        _ = stop.stopped() => return,
                        n = listener.recv() => match n {
                            // Our own announcement: our readers know.
                            Ok(n) if n.payload() == &*me => {}
                            // Another process's write: its position is not told.
                            Ok(_) => wake.send_modify(|_| {}),
                            Err(e) => {
                                tracing::warn!(error = %e, "event listener lost its connection");
                                break;
                            }
                        }
                    }
                }
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_held_back_reader_looks_again_soon_then_less_and_less_often() {
        let max = Duration::from_millis(500);
        let mut h = HeldBack::default();
        let pauses: Vec<u128> = (0..10).map(|_| h.pause(true, max).as_millis()).collect();
        assert_eq!(pauses, [2, 4, 8, 16, 32, 64, 128, 256, 500, 500]);
        // Nothing known to be waiting: the poll interval, and the next
        // hold-up starts short again.
        assert_eq!(h.pause(false, max), max);
        assert_eq!(h.pause(true, max), Duration::from_millis(2));
        h.pause(true, max);
        h.reset();
        assert_eq!(h.pause(true, max), Duration::from_millis(2));
    }

    #[test]
    fn only_a_write_past_the_reader_counts_as_waiting() {
        let a = Appended {
            newest: Position::new(7, 40),
            local: 3,
        };
        assert!(a.is_ahead_of(Position::new(7, 39)));
        assert!(!a.is_ahead_of(Position::new(7, 40)));
        assert!(!a.is_ahead_of(Position::new(8, 1)));
        assert!(!Appended::default().is_ahead_of(Position::START));
    }
}
