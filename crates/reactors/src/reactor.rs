//! What a reactor is.

use async_trait::async_trait;
use tgcrm_store::StoredEvent;
use tgcrm_store::reader::EventFilter;

/// Where a reactor that has never run begins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartAt {
    /// The start of the log: it reacts to all of history.
    Beginning,
    /// The log's end when it first starts: it reacts only to what happens from then on.
    End,
}

#[derive(Debug, thiserror::Error)]
pub enum ReactError {
    /// Something outside failed (database, network): try the same event again later.
    #[error("retry later: {0:#}")]
    Retry(anyhow::Error),
    /// The event cannot be handled, now or ever: log it and move on.
    #[error("skipped: {0:#}")]
    Skip(anyhow::Error),
}

#[async_trait]
pub trait Reactor: Send + Sync {
    /// Stable name; its checkpoint is kept as `reactor:<name>`.
    fn name(&self) -> &'static str;

    fn start_at(&self) -> StartAt {
        StartAt::Beginning
    }

    /// Which events it wants (the reader filters in SQL).
    fn filter(&self) -> EventFilter {
        EventFilter::default()
    }

    /// Handle one event. Must be idempotent: after a crash the same event may come again.
    async fn react(&self, event: &StoredEvent) -> Result<(), ReactError>;
}
