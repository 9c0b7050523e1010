//! A fresh database per test (SQLite in a temp dir, or a new Postgres
//! database, from the testkit), commands through the real store, and the
//! projectors brought up to date on demand.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use tgcrm_domain::ManualClock;
use tgcrm_projections::Projector;
use tgcrm_projections::runner::{apply_batch, prepare};
use tgcrm_store::commands::CommandContext;
use tgcrm_store::{Db, EventStore, Metadata, Position, Source};
use tgcrm_testkit::TestDb;

pub struct Env {
    pub store: EventStore,
    pub clock: ManualClock,
    /// Owns the database: dropped with the env (kept if the test fails).
    _test_db: TestDb,
}

/// Run a test body on SQLite and on Postgres.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                ($body)($crate::harness::Env::sqlite().await).await
            }
            #[tokio::test]
            async fn postgres() {
                ($body)($crate::harness::Env::postgres().await).await
            }
        }
    };
}

impl Env {
    fn with(test_db: TestDb) -> Self {
        Self {
            store: test_db.store(),
            clock: ManualClock::new(Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()),
            _test_db: test_db,
        }
    }

    pub async fn sqlite() -> Self {
        Self::with(tgcrm_testkit::sqlite().await)
    }

    pub async fn postgres() -> Self {
        Self::with(tgcrm_testkit::postgres().await)
    }

    pub fn db(&self) -> &Db {
        self.store.db()
    }

    pub fn ctx(&self, workspace: &str) -> CommandContext {
        CommandContext {
            workspace_id: tgcrm_domain::WorkspaceId::parse(workspace).unwrap(),
            metadata: Metadata::new("token:test", Source::Api),
            expected_version: None,
        }
    }

    /// The position of the newest committed event. (The ordered reader holds
    /// back events while any older transaction on the cluster is running, so
    /// "nothing more to read" is not yet "caught up".)
    async fn newest(&self) -> Position {
        #[derive(sqlx::FromRow)]
        struct Row {
            transaction_id: i64,
            position: i64,
        }
        let sql = match self.db().backend() {
            tgcrm_store::Backend::Postgres => {
                "SELECT transaction_id::text::bigint AS transaction_id, position FROM events \
                 ORDER BY events.transaction_id DESC, events.position DESC LIMIT 1"
            }
            tgcrm_store::Backend::Sqlite => {
                "SELECT 0 AS transaction_id, position FROM events ORDER BY position DESC LIMIT 1"
            }
        };
        let row: Option<Row> = self.db().fetch_optional(sql, vec![]).await.unwrap();
        row.map(|r| Position::new(r.transaction_id, r.position))
            .unwrap_or(Position::START)
    }

    /// Bring every projector up to the end of the log.
    pub async fn project(&self) {
        let target = self.newest().await;
        let projectors: Vec<Arc<dyn Projector>> = tgcrm_projections::all();
        for p in projectors {
            let mut at = prepare(self.db(), p.as_ref(), Utc::now()).await.unwrap();
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
            while at < target {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{} did not catch up",
                    p.name()
                );
                match apply_batch(self.db(), p.as_ref(), at, 500, Utc::now())
                    .await
                    .unwrap()
                {
                    Some((last, _)) => at = last,
                    None => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
                }
            }
        }
    }
}
