//! `spawn_app()`: the real application on a free port over a fresh database,
//! a manual clock, and typed request helpers. Logs only when `TEST_LOG` is set.

use std::future::Future;
use std::net::TcpListener;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use tgcrm_api::ApiConfig;
use tgcrm_domain::{Clock, ManualClock};
use tgcrm_projections::runner::RunnerConfig;
use tgcrm_server::startup::Application;
use tgcrm_store::Db;
use tgcrm_store::tokens::Role;
use tgcrm_testkit::TestDb;

/// The workspace most tests work in.
pub const WORKSPACE: &str = "acme";

/// Run one test body on both databases:
///
/// ```ignore
/// both!(opening_a_ticket_answers_201, |app| async move { /* … */ });
/// ```
///
/// expands to `mod opening_a_ticket_answers_201 { fn postgres(); fn sqlite(); }`.
#[macro_export]
macro_rules! both {
    ($(#[$meta:meta])* $name:ident, $body:expr $(,)?) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                $crate::helpers::run($crate::helpers::Backend::Postgres, $body).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::helpers::run($crate::helpers::Backend::Sqlite, $body).await;
            }
        }
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Spawn the app on `backend`, run `body`, then stop the app and drop its database.
pub async fn run<F, Fut>(backend: Backend, body: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let app = spawn_app(backend).await;
    let keeper = app.clone();
    body(app).await;
    keeper.finish().await;
}

/// A running application and a client for it. Cheap to clone.
#[derive(Clone)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub db: Db,
    pub backend: Backend,
    /// The application's clock: it moves only when a test moves it.
    pub clock: ManualClock,
    pub client: reqwest::Client,
    running: Arc<Running>,
}

struct Running {
    server: actix_web::dev::ServerHandle,
    /// `run_until_stopped`, its error as text.
    task: Mutex<Option<tokio::task::JoinHandle<Result<(), String>>>>,
    database: Mutex<Option<TestDb>>,
}

/// Where the manual clock starts.
pub fn start_time() -> DateTime<Utc> {
    "2026-03-02T09:00:00Z".parse().unwrap()
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            tgcrm_server::telemetry::init();
        }
    });
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, ApiConfig::default()).await
}

/// Like [`run`], with API settings of the test's choosing.
pub async fn run_with<F, Fut>(backend: Backend, config: ApiConfig, body: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()>,
{
    let app = spawn_app_with(backend, config).await;
    let keeper = app.clone();
    body(app).await;
    keeper.finish().await;
}

pub async fn spawn_app_with(backend: Backend, config: ApiConfig) -> TestApp {
    init_logs();
    let test_db = match backend {
        Backend::Postgres => tgcrm_testkit::postgres().await,
        Backend::Sqlite => tgcrm_testkit::sqlite().await,
    };
    let db = test_db.db.clone();
    let clock = ManualClock::new(start_time());
    let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    let app = Application::build_with(
        db.clone(),
        listener,
        Arc::new(clock.clone()) as Arc<dyn Clock>,
        config,
        RunnerConfig {
            batch_size: 500,
            poll_interval: Duration::from_millis(50),
        },
    )
    .await
    .expect("building the application");
    let port = app.port();
    let server = app.server_handle();
    let task =
        tokio::spawn(async move { app.run_until_stopped().await.map_err(|e| e.to_string()) });
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        db,
        backend,
        clock,
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap(),
        running: Arc::new(Running {
            server,
            task: Mutex::new(Some(task)),
            database: Mutex::new(Some(test_db)),
        }),
    }
}

/// An HTTP answer, read completely.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    /// The body as JSON (`Value::Null` if empty, a JSON string if not JSON).
    pub body: Value,
    pub text: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    pub fn content_type(&self) -> String {
        self.header("content-type").unwrap_or_default()
    }

    /// Assert the status, with the body in the message when it differs.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status, status,
            "expected {status}, got {}: {}",
            self.status, self.text
        );
        self
    }

    /// Assert an RFC 9457 problem with this status.
    #[track_caller]
    pub fn expect_problem(&self, status: u16) -> &Self {
        self.expect(status);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "a {status} answer is problem+json: {}",
            self.text
        );
        assert_eq!(self.body["status"], json!(status), "{}", self.text);
        assert!(
            self.body["type"].is_string(),
            "problem has a type: {}",
            self.text
        );
        assert!(
            self.body["title"].is_string(),
            "problem has a title: {}",
            self.text
        );
        assert!(
            self.body["detail"].is_string(),
            "problem has a detail: {}",
            self.text
        );
        self
    }

    /// The `id` of the resource in the body.
    #[track_caller]
    pub fn id(&self) -> String {
        self.body["id"]
            .as_str()
            .unwrap_or_else(|| panic!("no id in {}", self.text))
            .to_owned()
    }

    /// The `X-Event-Position` header.
    #[track_caller]
    pub fn position(&self) -> String {
        self.header("x-event-position")
            .unwrap_or_else(|| panic!("no X-Event-Position on a write: {}", self.text))
    }

    /// The `items` of a page.
    #[track_caller]
    pub fn items(&self) -> &Vec<Value> {
        self.body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("not a page: {}", self.text))
    }
}

impl TestApp {
    /// Stop the server and its background tasks, then drop the database.
    pub async fn finish(self) {
        self.running.server.stop(false).await;
        let task = self.running.task.lock().unwrap().take();
        if let Some(task) = task {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
        let database = self.running.database.lock().unwrap().take();
        if let Some(database) = database {
            database.finish().await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// A token of `role` in [`WORKSPACE`], bound to `agent` if given.
    pub async fn create_token(&self, role: Role, agent: Option<&str>) -> String {
        self.create_token_in(WORKSPACE, role, agent).await
    }

    /// A token of `role` in `workspace`, bound to `agent` if given.
    pub async fn create_token_in(
        &self,
        workspace: &str,
        role: Role,
        agent: Option<&str>,
    ) -> String {
        self.create_token_record(workspace, role, agent).await.0
    }

    /// A token of `role` in `workspace`: its secret and its id.
    pub async fn create_token_record(
        &self,
        workspace: &str,
        role: Role,
        agent: Option<&str>,
    ) -> (String, String) {
        let (record, secret) =
            tgcrm_store::tokens::create(&self.db, workspace, role, agent, None, self.clock.now())
                .await
                .expect("creating a token");
        (secret.expose().to_owned(), record.id)
    }

    /// A newly registered agent (offline, so automatic distribution leaves
    /// it alone) and a token bound to it; returns (token, agent id).
    pub async fn agent(&self) -> (String, String) {
        let admin = self.create_token(Role::Admin, None).await;
        let n = uuid::Uuid::now_v7().simple().to_string();
        let agent = self
            .register_agent(&admin, &json!({ "name": format!("Agent {}", &n[24..]) }))
            .await;
        (self.create_token(Role::Agent, Some(&agent)).await, agent)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let r = self.client.request(method, self.url(path));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    pub async fn send(&self, request: RequestBuilder) -> Answer {
        let res = request.send().await.expect("sending a request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.expect("reading an answer");
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()))
        };
        Answer {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.send(self.request(Method::GET, path, Some(token)))
            .await
    }

    pub async fn get_anonymous(&self, path: &str) -> Answer {
        self.send(self.request(Method::GET, path, None)).await
    }

    pub async fn post_json(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.send(self.request(Method::POST, path, Some(token)).json(body))
            .await
    }

    /// POST with extra headers (`Idempotency-Key`, `If-Match`, …).
    pub async fn post_json_with(
        &self,
        path: &str,
        token: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut r = self.request(Method::POST, path, Some(token)).json(body);
        for (k, v) in headers {
            r = r.header(*k, *v);
        }
        self.send(r).await
    }

    /// POST a raw body with the given content type.
    pub async fn post_raw(
        &self,
        path: &str,
        token: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> Answer {
        self.send(
            self.request(Method::POST, path, Some(token))
                .header("content-type", content_type)
                .body(body),
        )
        .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Answer {
        self.send(self.request(Method::DELETE, path, Some(token)))
            .await
    }

    /// Open a ticket; asserts 201.
    pub async fn open_ticket(&self, token: &str, body: &Value) -> Answer {
        let a = self.post_json("/v1/tickets", token, body).await;
        a.expect(201);
        a
    }

    /// Open a ticket with the given subject and defaults for the rest; returns its id.
    pub async fn open_ticket_with_subject(&self, token: &str, subject: &str) -> String {
        self.open_ticket(token, &ticket_body(subject)).await.id()
    }

    /// Every event in the log (all workspaces, all aggregate types).
    pub async fn event_count(&self) -> i64 {
        tgcrm_testkit::fixtures::count(&self.db, "SELECT COUNT(*) AS n FROM events", vec![]).await
    }

    /// Wait until the global feed hands out everything committed so far. On
    /// Postgres it holds events back while an older transaction anywhere on the
    /// cluster runs (another test's, in another database).
    pub async fn wait_until_readable(&self) {
        tgcrm_testkit::fixtures::wait_until_readable(&self.db).await;
    }

    /// The ticket's own stream, read over HTTP with `token`.
    pub async fn ticket_events(&self, ticket: &str, token: &str) -> Vec<Value> {
        let a = self
            .get(&format!("/v1/tickets/{ticket}/events?limit=100"), token)
            .await;
        a.expect(200);
        a.items().clone()
    }

    /// POST a status change; returns the answer.
    pub async fn set_status(&self, ticket: &str, token: &str, status: &str) -> Answer {
        self.post_json(
            &format!("/v1/tickets/{ticket}/status"),
            token,
            &json!({ "status": status }),
        )
        .await
    }

    /// POST a message; returns the answer.
    pub async fn post_message(
        &self,
        ticket: &str,
        token: &str,
        text: &str,
        visibility: &str,
    ) -> Answer {
        self.post_json(
            &format!("/v1/tickets/{ticket}/messages"),
            token,
            &json!({ "text": text, "visibility": visibility }),
        )
        .await
    }

    /// Move the application's clock forward.
    pub fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }
}

/// A valid request body for `POST /v1/tickets`.
pub fn ticket_body(subject: &str) -> Value {
    json!({
        "subject": subject,
        "body": "My order has not arrived.",
        "customer": { "telegram_user_id": 4242, "name": "Ann Example", "username": "ann_example" },
        "priority": "normal",
    })
}

/// The ids of a page's items.
pub fn ids(items: &[Value]) -> Vec<String> {
    items
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

// --- Agents, teams and automatic assignment -------------------------------

impl TestApp {
    /// A second application on the same database, as another `crm serve`
    /// process would be (its own pool, HTTP port, projector and reactor
    /// runners), sharing this one's clock. Finish it before this one.
    pub async fn spawn_peer(&self) -> TestApp {
        let url = self
            .running
            .database
            .lock()
            .unwrap()
            .as_ref()
            .map(|d| d.url.clone())
            .expect("the first application owns the database");
        let db = Db::connect(&url).await.expect("connecting the peer");
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding a free port");
        let app = Application::build_with(
            db.clone(),
            listener,
            Arc::new(self.clock.clone()) as Arc<dyn Clock>,
            ApiConfig::default(),
            RunnerConfig {
                batch_size: 500,
                poll_interval: Duration::from_millis(50),
            },
        )
        .await
        .expect("building the peer");
        let port = app.port();
        let server = app.server_handle();
        let task =
            tokio::spawn(async move { app.run_until_stopped().await.map_err(|e| e.to_string()) });
        TestApp {
            address: format!("http://127.0.0.1:{port}"),
            db,
            backend: self.backend,
            clock: self.clock.clone(),
            client: self.client.clone(),
            running: Arc::new(Running {
                server,
                task: Mutex::new(Some(task)),
                database: Mutex::new(None),
            }),
        }
    }

    /// Wait until the assignment reactor has reacted to every event so far
    /// (and so has handed out whatever it could).
    ///
    /// The checkpoint is read before waiting for the ordered reader: a batch's
    /// assignments commit before its checkpoint moves, so the wait then covers
    /// them. Waiting first would let a pass that ends in between go unseen
    /// whenever another transaction on the cluster (a parallel test's) holds
    /// the reader's horizon below its assignments: the read below would find
    /// no trigger past the checkpoint and the caller would miss them.
    pub async fn settle_assignment(&self) {
        use tgcrm_store::reader::{EventFilter, read_after};
        let filter = EventFilter {
            event_types: tgcrm_reactors::assignment::TRIGGERS
                .iter()
                .map(|t| (*t).to_owned())
                .collect(),
            ..EventFilter::default()
        };
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let at = tgcrm_store::checkpoints::load(&self.db, "reactor:assignment")
                .await
                .unwrap()
                .map_or(tgcrm_store::Position::START, |c| c.position);
            self.wait_until_readable().await;
            if read_after(&self.db, at, 1, &filter)
                .await
                .unwrap()
                .is_empty()
            {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the assignment reactor did not catch up within 30 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Register an agent (`body` as for `POST /v1/agents`); returns its id.
    pub async fn register_agent(&self, admin: &str, body: &Value) -> String {
        let a = self.post_json("/v1/agents", admin, body).await;
        a.expect(201);
        a.id()
    }

    /// Set an agent's availability (`online`, `away`, `offline`).
    pub async fn set_availability(&self, admin: &str, agent: &str, availability: &str) {
        self.post_json(
            &format!("/v1/agents/{agent}/availability"),
            admin,
            &json!({ "availability": availability }),
        )
        .await
        .expect(200);
    }

    /// Create a team (`body` as for `POST /v1/teams`); returns its id.
    pub async fn create_team(&self, admin: &str, body: &Value) -> String {
        let a = self.post_json("/v1/teams", admin, body).await;
        a.expect(201);
        a.id()
    }

    /// The ticket's current assignee, from its own stream.
    pub async fn assignee(&self, ticket: &str, token: &str) -> Option<String> {
        let a = self.get(&format!("/v1/tickets/{ticket}"), token).await;
        a.expect(200);
        a.body["assignee_agent_id"].as_str().map(str::to_owned)
    }
}

impl TestApp {
    pub async fn put_json(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.send(self.request(Method::PUT, path, Some(token)).json(body))
            .await
    }

    pub async fn patch_json(&self, path: &str, token: &str, body: &Value) -> Answer {
        self.send(self.request(Method::PATCH, path, Some(token)).json(body))
            .await
    }
}
