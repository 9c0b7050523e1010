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
    /// `CREATE TABLE IF NOT EXISTS …` / `CREATE INDEX IF NOT EXISTS …` statements.
    fn schema(&self, backend: Backend) -> Vec<String>;
    /// Apply one event inside the batch's transaction. Must be idempotent with
    /// respect to the event's position.
    async fn apply(&self, tx: &mut Tx, event: &StoredEvent) -> anyhow::Result<()>;
}
