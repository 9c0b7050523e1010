//! Tamper evidence: every event gets a hash over its content and the previous
//! event's hash, in log order, one chain per workspace. Built by a projector
//! (so appends stay concurrent and the chain commits with its checkpoint);
//! `crm audit verify` recomputes it from the log and names the first position
//! where log and chain disagree; `GET /v1/audit/digest` gives the head an
//! auditor can keep outside the system.

mod hash;
mod verify;

pub use hash::{GENESIS, event_hash};
pub use verify::{Break, VerifyReport, verify};

use async_trait::async_trait;
use tgcrm_store::{Backend, Db, SqlError, StoredEvent, Tx, args};

use crate::projector::Projector;
use crate::schema::ddl;

pub const NAME: &str = "audit_chain";

pub struct AuditChainProjector;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS audit_chain (
        workspace_id   TEXT NOT NULL,
        chain_index    {int} NOT NULL,
        transaction_id {int} NOT NULL,
        position       {int} NOT NULL,
        event_id       TEXT NOT NULL,
        prev_hash      TEXT NOT NULL,
        hash           TEXT NOT NULL,
        PRIMARY KEY (workspace_id, chain_index)
    )",
    "CREATE UNIQUE INDEX IF NOT EXISTS audit_chain_event ON audit_chain (event_id)",
];

#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow)]
pub struct ChainHead {
    pub workspace_id: String,
    pub chain_index: i64,
    pub transaction_id: i64,
    pub position: i64,
    pub event_id: String,
    pub prev_hash: String,
    pub hash: String,
}

async fn head_in(tx: &mut Tx, workspace: &str) -> Result<Option<ChainHead>, SqlError> {
    tx.fetch_optional(
        "SELECT workspace_id, chain_index, transaction_id, position, event_id, prev_hash, hash FROM audit_chain \
         WHERE workspace_id = $1 ORDER BY chain_index DESC LIMIT 1",
        args![workspace],
    )
    .await
}

/// The newest link of a workspace's chain.
pub async fn head(db: &Db, workspace: &str) -> Result<Option<ChainHead>, SqlError> {
    db.fetch_optional(
        "SELECT workspace_id, chain_index, transaction_id, position, event_id, prev_hash, hash FROM audit_chain \
         WHERE workspace_id = $1 ORDER BY chain_index DESC LIMIT 1",
        args![workspace],
    )
    .await
}

#[async_trait]
impl Projector for AuditChainProjector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        1
    }

    fn tables(&self) -> &'static [&'static str] {
        &["audit_chain"]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        SCHEMA.iter().map(|s| ddl(backend, s)).collect()
    }

    async fn apply(&self, tx: &mut Tx, event: &StoredEvent) -> anyhow::Result<()> {
        let previous = head_in(tx, &event.workspace_id).await?;
        if previous
            .as_ref()
            .is_some_and(|p| p.event_id == event.event_id)
        {
            return Ok(());
        }
        let (index, prev_hash) = match previous {
            Some(p) => (p.chain_index + 1, p.hash),
            None => (1, GENESIS.to_owned()),
        };
        let hash = event_hash(&prev_hash, event);
        tx.execute(
            "INSERT INTO audit_chain (workspace_id, chain_index, transaction_id, position, event_id, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING",
            args![
                event.workspace_id.as_str(),
                index,
                event.position.transaction_id,
                event.position.position,
                event.event_id.as_str(),
                prev_hash,
                hash,
            ],
        )
        .await?;
        Ok(())
    }
}
