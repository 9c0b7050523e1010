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

use std::collections::HashMap;

use async_trait::async_trait;
use tgcrm_store::{Backend, Db, Position, SqlError, StoredEvent, Tx, args};

use crate::bulk;
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

const COLUMNS: &[&str] = &[
    "workspace_id",
    "chain_index",
    "transaction_id",
    "position",
    "event_id",
    "prev_hash",
    "hash",
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

/// A workspace's newest link.
const HEAD: &str = "SELECT workspace_id, chain_index, transaction_id, position, event_id, prev_hash, hash \
     FROM audit_chain WHERE workspace_id = $1 ORDER BY chain_index DESC LIMIT 1";

async fn head_in(tx: &mut Tx, workspace: &str) -> Result<Option<ChainHead>, SqlError> {
    tx.fetch_optional(HEAD, args![workspace]).await
}

/// The newest link of a workspace's chain.
pub async fn head(db: &Db, workspace: &str) -> Result<Option<ChainHead>, SqlError> {
    db.fetch_optional(HEAD, args![workspace]).await
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

    /// `crm audit verify` finds links by event id; applying needs only the heads.
    fn query_indexes(&self) -> &'static [&'static str] {
        &["audit_chain_event"]
    }

    async fn apply(&self, tx: &mut Tx, event: &StoredEvent) -> anyhow::Result<()> {
        self.apply_batch(tx, std::slice::from_ref(event)).await
    }

    /// Links the batch in memory from each workspace's head, then writes the
    /// links with [`bulk::append`] (a replay's batches as one `COPY` on
    /// Postgres). A chain links its workspace's events in the order the
    /// ordered reader hands them out, so an event is linked
    /// already (a batch applied again) exactly when it is not after its
    /// workspace's head: it is skipped, without a lookup by event id.
    async fn apply_batch(&self, tx: &mut Tx, events: &[StoredEvent]) -> anyhow::Result<()> {
        // Per workspace: the index, hash and position of its newest link.
        let mut heads: HashMap<String, (i64, String, Position)> = HashMap::new();
        let mut rows = Vec::new();
        for event in events {
            if !heads.contains_key(&event.workspace_id) {
                let head = head_in(tx, &event.workspace_id).await?.map_or(
                    (0, GENESIS.to_owned(), Position::START),
                    |h| {
                        let at = Position::new(h.transaction_id, h.position);
                        (h.chain_index, h.hash, at)
                    },
                );
                heads.insert(event.workspace_id.clone(), head);
            }
            let Some(head) = heads.get_mut(&event.workspace_id) else {
                continue;
            };
            if event.position <= head.2 {
                continue;
            }
            let index = head.0 + 1;
            let prev_hash = std::mem::take(&mut head.1);
            let hash = event_hash(&prev_hash, event)?;
            rows.push(args![
                event.workspace_id.as_str(),
                index,
                event.position.transaction_id,
                event.position.position,
                event.event_id.as_str(),
                prev_hash,
                hash.clone(),
            ]);
            *head = (index, hash, event.position);
        }
        // Only ever added: a link is written once, after its workspace's
        // head (a `COPY` on Postgres; a link written twice would fail it).
        bulk::append(tx, "audit_chain", COLUMNS, rows).await?;
        Ok(())
    }
}
