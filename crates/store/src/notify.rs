//! The event store handle: the database plus a wake-up signal for readers.
//! Appends in this process bump the signal directly; on Postgres a listener on
//! `crm_events` (an insert trigger's NOTIFY) bumps it for appends made by other
//! processes. Readers still poll: the signal only shortens the wait.

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
        });
    }

    /// A receiver that changes whenever the log may have grown.
    pub fn subscribe(&self) -> watch::Receiver<Appended> {
        self.wake.subscribe()
    }

    /// On Postgres, listen for appends by other processes until `stop` fires.
    /// Reconnects after failures; never needed for correctness.
    pub fn spawn_listener(
        &self,
        stop: crate::shutdown::Stop,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let pool = self.db.pg()?.clone();
        let wake = self.wake.clone();
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
                if let Err(e) = listener.listen("crm_events").await {
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
        };
        assert!(a.is_ahead_of(Position::new(7, 39)));
        assert!(!a.is_ahead_of(Position::new(7, 40)));
        assert!(!a.is_ahead_of(Position::new(8, 1)));
        assert!(!Appended::default().is_ahead_of(Position::START));
    }
}
