//! Canned responses as a list: one row per live response, sorted by name.

mod query;

pub(crate) use query::like_escape as like_escape_pub;
pub use query::{CannedFilter, CannedPage, CannedRow, list};

use async_trait::async_trait;
use tgcrm_domain::canned::{CannedEvent, CannedResponse};
use tgcrm_domain::name_claim::normalize;
use tgcrm_store::{Backend, StoredEvent, Tx, args};

use crate::projector::Projector;
use crate::schema::ddl;

pub const NAME: &str = "canned_responses";

pub struct CannedProjector;

const SCHEMA: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS rm_canned_responses (
        canned_response_id TEXT PRIMARY KEY,
        workspace_id       TEXT NOT NULL,
        name               TEXT NOT NULL,
        name_key           TEXT NOT NULL,
        category           TEXT,
        body               TEXT NOT NULL,
        created_by         TEXT NOT NULL,
        created_at         {ts} NOT NULL,
        updated_at         {ts} NOT NULL,
        version            {int} NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS rm_canned_by_name ON rm_canned_responses (workspace_id, name_key, canned_response_id)",
    "CREATE INDEX IF NOT EXISTS rm_canned_by_category ON rm_canned_responses (workspace_id, category, name_key)",
];

#[async_trait]
impl Projector for CannedProjector {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        1
    }

    fn reads(&self) -> &'static [&'static str] {
        &[tgcrm_domain::canned::AGGREGATE_TYPE]
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_canned_responses"]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        SCHEMA.iter().map(|s| ddl(backend, s)).collect()
    }

    async fn apply(&self, tx: &mut Tx, stored: &StoredEvent) -> anyhow::Result<()> {
        let Some(event) = stored.decode::<CannedResponse>() else {
            return Ok(());
        };
        let id = stored.aggregate_id.as_str();
        let seq = stored.sequence;
        match event? {
            CannedEvent::Created {
                workspace_id,
                name,
                category,
                body,
                at,
                ..
            } => {
                tx.execute(
                    "INSERT INTO rm_canned_responses (canned_response_id, workspace_id, name, name_key, category, body, \
                     created_by, created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9) \
                     ON CONFLICT (canned_response_id) DO NOTHING",
                    args![
                        id,
                        workspace_id.as_str(),
                        name.as_str(),
                        normalize(name.as_str()),
                        category.as_ref().map(|c| c.as_str()),
                        body,
                        stored.actor.as_str(),
                        at,
                        seq,
                    ],
                )
                .await?;
            }
            CannedEvent::Updated {
                name,
                category,
                body,
                at,
            } => {
                tx.execute(
                    "UPDATE rm_canned_responses SET name = $3, name_key = $4, category = $5, body = $6, updated_at = $7, \
                     version = $2 WHERE canned_response_id = $1 AND version < $2",
                    args![
                        id,
                        seq,
                        name.as_str(),
                        normalize(name.as_str()),
                        category.as_ref().map(|c| c.as_str()),
                        body,
                        at,
                    ],
                )
                .await?;
            }
            CannedEvent::Deleted { .. } => {
                tx.execute(
                    "DELETE FROM rm_canned_responses WHERE canned_response_id = $1",
                    args![id],
                )
                .await?;
            }
        }
        Ok(())
    }
}
