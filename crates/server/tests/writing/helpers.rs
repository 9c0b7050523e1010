//! The server on a fresh database, tokens, and typed request helpers.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tgcrm_domain::Clock;
use tgcrm_projections::runner::RunnerConfig;
use tgcrm_server::startup::Application;
use tgcrm_store::Db;
use tgcrm_store::tokens::Role;

/// Run a test body against the real server on SQLite and on Postgres.
#[macro_export]
macro_rules! on_both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                ($body)($crate::helpers::TestApp::spawn(false).await).await
            }
            #[tokio::test]
            async fn postgres() {
                ($body)($crate::helpers::TestApp::spawn(true).await).await
            }
        }
    };
}

pub struct TestApp {
    pub base: String,
    pub db: Db,
    /// An admin token of workspace `acme`.
    pub admin: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub position: Option<String>,
    pub etag: Option<String>,
}

async fn database(postgres: bool, dir: &tempfile::TempDir) -> Db {
    let url = if postgres {
        let admin_url = std::env::var("TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
        let admin = sqlx::PgPool::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "these tests need Postgres ({e}); start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` \
                 or set TEST_DATABASE_URL"
            )
        });
        let name = format!("tgcrm_wr_{}", uuid::Uuid::now_v7().simple());
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&admin)
            .await
            .unwrap();
        admin.close().await;
        let (prefix, _) = admin_url.rsplit_once('/').unwrap();
        format!("{prefix}/{name}")
    } else {
        format!("sqlite:{}", dir.path().join("crm.db").display())
    };
    let db = Db::connect(&url).await.unwrap();
    db.migrate().await.unwrap();
    db
}

impl TestApp {
    pub async fn spawn(postgres: bool) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let db = database(postgres, &dir).await;
        let app = Application::build_with(
            db.clone(),
            TcpListener::bind("127.0.0.1:0").unwrap(),
            Arc::new(tgcrm_store::SystemClock) as Arc<dyn Clock>,
            tgcrm_api::ApiConfig::default(),
            RunnerConfig {
                batch_size: 500,
                poll_interval: Duration::from_millis(50),
            },
        )
        .await
        .unwrap();
        let base = format!("http://127.0.0.1:{}", app.port());
        tokio::spawn(app.run_until_stopped());
        let mut this = Self {
            base,
            db,
            admin: String::new(),
            client: reqwest::Client::new(),
            _dir: dir,
        };
        this.admin = this.token("acme", Role::Admin, None).await;
        this
    }

    /// A token of `role` in `workspace`, bound to `agent` if given.
    pub async fn token(&self, workspace: &str, role: Role, agent: Option<&str>) -> String {
        let (_, secret) =
            tgcrm_store::tokens::create(&self.db, workspace, role, agent, None, chrono::Utc::now())
                .await
                .unwrap();
        secret.expose().to_owned()
    }

    pub async fn call(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
        if_match: Option<&str>,
    ) -> Resp {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        if let Some(v) = if_match {
            r = r.header("If-Match", v);
        }
        let res = r.send().await.unwrap();
        let status = res.status().as_u16();
        let header = |n: &str| {
            res.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let position = header("x-event-position");
        let etag = header("etag");
        if status >= 400 {
            assert_eq!(
                header("content-type").as_deref(),
                Some("application/problem+json"),
                "errors are problem+json"
            );
        }
        let body = res.json().await.unwrap_or(Value::Null);
        Resp {
            status,
            body,
            position,
            etag,
        }
    }

    pub async fn get(&self, token: &str, path: &str) -> Resp {
        self.call(token, Method::GET, path, None, None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Resp {
        self.call(token, Method::POST, path, Some(body), None).await
    }

    pub async fn patch(
        &self,
        token: &str,
        path: &str,
        body: Value,
        if_match: Option<&str>,
    ) -> Resp {
        self.call(token, Method::PATCH, path, Some(body), if_match)
            .await
    }

    pub async fn delete(&self, token: &str, path: &str) -> Resp {
        self.call(token, Method::DELETE, path, None, None).await
    }

    /// `path` read after the write that returned `position`. The server waits
    /// a bounded time and answers 503 (Retry-After) while the read model is
    /// still behind, as it may be on a busy shared Postgres: retry then.
    pub async fn get_after(&self, token: &str, path: &str, position: &Option<String>) -> Resp {
        let sep = if path.contains('?') { '&' } else { '?' };
        let path = match position {
            Some(p) => format!("{path}{sep}consistent_with={p}"),
            None => path.to_owned(),
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let r = self.get(token, &path).await;
            if r.status != 503 || std::time::Instant::now() > deadline {
                return r;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Open a ticket in `acme`; extra JSON fields (priority, tags, fields) merge in.
    pub async fn ticket(&self, subject: &str, body: &str, extra: Value) -> String {
        let mut req = json!({
            "subject": subject,
            "body": body,
            "customer": {"telegram_user_id": 77, "name": "Ivan", "username": "ivan_p"},
        });
        if let (Some(r), Some(e)) = (req.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                r.insert(k.clone(), v.clone());
            }
        }
        let res = self.post(&self.admin, "/v1/tickets", req).await;
        assert_eq!(res.status, 201, "{}", res.body);
        res.body["id"].as_str().unwrap().to_owned()
    }
}

/// The field names of a 422's errors.
pub fn error_fields(r: &Resp) -> Vec<String> {
    r.body["errors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}
