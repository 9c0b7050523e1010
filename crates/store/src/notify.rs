//! The event store handle: the database plus a wake-up signal for readers.
//! Appends in this process bump the signal directly; on Postgres a listener on
//! `crm_events` (an insert trigger's NOTIFY) bumps it for appends made by other
//! processes. Readers still poll: the signal only shortens the wait.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::db::Db;

#[derive(Debug, Clone)]
pub struct EventStore {
    db: Db,
    wake: Arc<watch::Sender<u64>>,
    stripes: Arc<Vec<tokio::sync::Mutex<()>>>,
}

/// Commands on one aggregate in this process take turns (a striped lock), so
/// they do not spend round trips losing version races to each other; races
/// with other processes are still settled by the append's primary key.
const STRIPES: usize = 256;

impl EventStore {
    pub fn new(db: Db) -> Self {
        let (tx, _rx) = watch::channel(0);
        Self {
            db,
            wake: Arc::new(tx),
            stripes: Arc::new((0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect()),
        }
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
        self.wake.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// A receiver that changes whenever the log may have grown.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
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
                            Ok(_) => wake.send_modify(|n| *n = n.wrapping_add(1)),
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
