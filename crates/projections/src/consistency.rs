//! Read-your-writes: a query may name the position of a write it made
//! (`consistent_with`); we wait, bounded, until the projectors behind the query
//! have passed it. Runners in this process publish their progress here; for
//! runners in other processes the checkpoint table is polled.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use tgcrm_store::{Db, Position, checkpoints};

#[derive(Debug, Clone, Default)]
pub struct Consistency {
    progress: Arc<Mutex<HashMap<&'static str, watch::Sender<Position>>>>,
}

#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    #[error("the read model has not caught up with that position yet")]
    TimedOut,
    #[error(transparent)]
    Database(#[from] tgcrm_store::SqlError),
}

impl Consistency {
    fn sender(&self, name: &'static str) -> watch::Sender<Position> {
        let mut map = self.progress.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(name)
            .or_insert_with(|| watch::channel(Position::START).0)
            .clone()
    }

    pub fn publish(&self, name: &'static str, position: Position) {
        self.sender(name).send_replace(position);
    }

    /// Wait until every projector in `names` has passed `target`, at most `timeout`.
    pub async fn wait_for(
        &self,
        db: &Db,
        names: &[&'static str],
        target: Position,
        timeout: Duration,
    ) -> Result<(), WaitError> {
        let deadline = Instant::now() + timeout;
        for &name in names {
            let mut rx = self.sender(name).subscribe();
            loop {
                if *rx.borrow_and_update() >= target {
                    break;
                }
                if let Some(cp) = checkpoints::load(db, name).await?
                    && cp.position >= target
                {
                    break;
                }
                let now = Instant::now();
                if now >= deadline {
                    return Err(WaitError::TimedOut);
                }
                let nap = (deadline - now).min(Duration::from_millis(50));
                let _ = tokio::time::timeout(nap, rx.changed()).await;
            }
        }
        Ok(())
    }
}
