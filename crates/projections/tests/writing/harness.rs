//! A fresh database per test (SQLite in a temp dir, or a new Postgres
//! database), commands through the real store, and the projectors brought up
//! to date on demand.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use tgcrm_domain::ManualClock;
use tgcrm_projections::Projector;
use tgcrm_projections::runner::{apply_batch, prepare};
use tgcrm_store::commands::CommandContext;
use tgcrm_store::{Db, EventStore, Metadata, Position, Source};

pub struct Env {
    pub store: EventStore,
    pub clock: ManualClock,
    _dir: Option<tempfile::TempDir>,
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

async fn postgres_url() -> String {
    let admin_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let admin = sqlx::PgPool::connect(&admin_url).await.unwrap_or_else(|e| {
        panic!(
            "these tests need Postgres ({e}); start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
             or set TEST_DATABASE_URL"
        )
    });
    let name = format!("tgcrm_kb_{}", uuid::Uuid::now_v7().simple());
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&admin)
        .await
        .unwrap();
    admin.close().await;
    let (prefix, _) = admin_url.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

impl Env {
    async fn with(db: Db, dir: Option<tempfile::TempDir>) -> Self {
        db.migrate().await.unwrap();
        Self {
            store: EventStore::new(db),
            clock: ManualClock::new(Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()),
            _dir: dir,
        }
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite:{}", dir.path().join("crm.db").display()))
            .await
            .unwrap();
        Self::with(db, Some(dir)).await
    }

    pub async fn postgres() -> Self {
        let db = Db::connect(&postgres_url().await).await.unwrap();
        Self::with(db, None).await
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
                 ORDER BY transaction_id DESC, position DESC LIMIT 1"
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
