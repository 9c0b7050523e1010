//! What a projector is: a name, a version, its tables, and how one event changes them.

use async_trait::async_trait;
use tgcrm_store::{Backend, StoredEvent, Tx};

#[async_trait]
pub trait Projector: Send + Sync {
    /// Stable name: the checkpoint's key.
    fn name(&self) -> &'static str;
    /// Bump to rebuild from position zero (the tables are dropped and recreated).
    fn version(&self) -> i64;
    /// The tables it owns, dropped on rebuild.
    fn tables(&self) -> &'static [&'static str];
    /// The aggregate types whose events it reads; empty for every event. The
    /// runner reads only those and moves the checkpoint past the rest.
    fn reads(&self) -> &'static [&'static str] {
        &[]
    }
    /// `CREATE TABLE IF NOT EXISTS …` / `CREATE INDEX IF NOT EXISTS …` statements.
    fn schema(&self, backend: Backend) -> Vec<String>;
    /// Names of the indexes of [`Projector::schema`] that serve queries
    /// only, never the projector's own reads and writes. A rebuild creates
    /// them once its tables are filled: one sort per index instead of an
    /// index insert per row written.
    fn query_indexes(&self) -> &'static [&'static str] {
        &[]
    }
    /// Apply one event inside the batch's transaction. Must be idempotent with
    /// respect to the event's position.
    async fn apply(&self, tx: &mut Tx, event: &StoredEvent) -> anyhow::Result<()>;

    /// Apply a batch of events, in log order, inside one transaction. The
    /// default applies them one by one; projectors with per-row state
    /// override it to fold the batch in memory and write each changed row
    /// once (see [`crate::bulk`]), which is what makes replay fast.
    async fn apply_batch(&self, tx: &mut Tx, events: &[StoredEvent]) -> anyhow::Result<()> {
        for e in events {
            self.apply(tx, e).await.map_err(|err| {
                err.context(format!(
                    "projector {} failed on event at {}",
                    self.name(),
                    e.position
                ))
            })?;
        }
        Ok(())
    }
}
