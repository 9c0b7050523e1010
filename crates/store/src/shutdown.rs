//! A shutdown signal shared by background tasks (projectors, reactors, listeners).

use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct Stop(watch::Receiver<bool>);

#[derive(Debug)]
pub struct StopHandle(watch::Sender<bool>);

pub fn stop_signal() -> (StopHandle, Stop) {
    let (tx, rx) = watch::channel(false);
    (StopHandle(tx), Stop(rx))
}

impl StopHandle {
    pub fn stop(&self) {
        let _ = self.0.send(true);
    }
}

impl Stop {
    pub fn is_stopped(&self) -> bool {
        *self.0.borrow()
    }

    /// Resolves once stop was asked for.
    pub async fn stopped(&self) {
        let mut rx = self.0.clone();
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }

    /// Sleep for `d`; true if stop was asked for meanwhile.
    pub async fn sleep_or_stop(&self, d: Duration) -> bool {
        tokio::select! {
            _ = self.stopped() => true,
            _ = tokio::time::sleep(d) => self.is_stopped(),
        }
    }
}
