use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use reqwest::{Method, Response};
use serde_json::{Value, json};
use tgcrm_domain::{Clock, ManualClock};
use tgcrm_projections::runner::RunnerConfig;
use tgcrm_server::startup::Application;
use tgcrm_store::Db;
use tgcrm_store::tokens::Role;
use tgcrm_testkit::TestDb;

/// Run a test body on both databases.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test]
            async fn sqlite() {
                ($body)($crate::helpers::spawn(false).await).await
            }
            #[tokio::test]
            async fn postgres() {
                ($body)($crate::helpers::spawn(true).await).await
            }
        }
    };
}

pub struct App {
    pub base: String,
    pub db: Db,
    pub clock: ManualClock,
    pub client: reqwest::Client,
    /// Owns the database: dropped with the app (kept if the test fails).
    _test_db: TestDb,
}

pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

pub async fn spawn(postgres: bool) -> App {
    let test_db = if postgres {
        tgcrm_testkit::postgres().await
    } else {
        tgcrm_testkit::sqlite().await
    };
    let db = test_db.db.clone();
    let clock = ManualClock::new("2026-03-01T09:00:00Z".parse().unwrap());
    let app = Application::build_with(
        db.clone(),
        TcpListener::bind("127.0.0.1:0").unwrap(),
        Arc::new(clock.clone()) as Arc<dyn Clock>,
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
    App {
        base,
        db,
        clock,
        client: reqwest::Client::new(),
        _test_db: test_db,
    }
}

impl App {
    pub async fn token(&self, workspace: &str, role: Role) -> String {
        self.token_for(workspace, role, None).await
    }

    pub async fn token_for(&self, workspace: &str, role: Role, agent: Option<&str>) -> String {
        let (_, s) =
            tgcrm_store::tokens::create(&self.db, workspace, role, agent, None, chrono::Utc::now())
                .await
                .unwrap();
        s.expose().to_owned()
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut r = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        if let Some(b) = body {
            r = r.json(&b);
        }
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        answer(r.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.send(Method::GET, path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.send(Method::POST, path, Some(token), Some(body), &[])
            .await
    }

    pub async fn open_ticket(&self, token: &str, subject: &str) -> String {
        let a = self
            .post(
                "/v1/tickets",
                token,
                json!({"subject": subject, "body": "Hello", "customer": {"telegram_user_id": 42, "name": "Ann"}}),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["id"].as_str().unwrap().to_owned()
    }

    pub async fn event_count(&self) -> i64 {
        #[derive(sqlx::FromRow)]
        struct N {
            n: i64,
        }
        self.db
            .fetch_one::<N>("SELECT COUNT(*) AS n FROM events", vec![])
            .await
            .unwrap()
            .n
    }
}

pub async fn answer(res: Response) -> Answer {
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let text = res.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        body,
        content_type,
        headers,
    }
}
