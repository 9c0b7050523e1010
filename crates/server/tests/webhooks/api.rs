//! `/v1/webhooks` end to end.

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
use tgcrm_testkit::TestDb;
use tgcrm_webhooks::testing::{Receiver, Reply};

const WAIT: Duration = Duration::from_secs(20);

struct App {
    base: String,
    db: Db,
    client: reqwest::Client,
    admin: String,
    receiver: Receiver,
    /// Owns the database: dropped with the app (kept if the test fails).
    _test_db: TestDb,
}

struct Answer {
    status: u16,
    body: Value,
    content_type: String,
    position: Option<String>,
}

/// A fresh, migrated database; dropped with the app (kept if the test fails).
async fn database(postgres: bool) -> TestDb {
    if postgres {
        tgcrm_testkit::postgres().await
    } else {
        tgcrm_testkit::sqlite().await
    }
}

/// The server with short webhook retries; `allow_private` for the loopback receiver.
async fn spawn(postgres: bool, allow_private: bool) -> App {
    let test_db = database(postgres).await;
    let db = test_db.db.clone();
    let mut api = tgcrm_api::ApiConfig::default();
    api.webhooks.allow_private = allow_private;
    api.webhooks.retry_schedule = vec![Duration::from_millis(100); 2];
    api.webhooks.jitter = 0.0;
    api.webhooks.poll_interval = Duration::from_millis(30);
    let app = Application::build_with(
        db.clone(),
        TcpListener::bind("127.0.0.1:0").unwrap(),
        Arc::new(tgcrm_store::SystemClock) as Arc<dyn Clock>,
        api,
        RunnerConfig {
            batch_size: 500,
            poll_interval: Duration::from_millis(30),
        },
    )
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let admin = token(&db, "acme", Role::Admin).await;
    App {
        base,
        db,
        client: reqwest::Client::new(),
        admin,
        receiver: Receiver::start().await,
        _test_db: test_db,
    }
}

async fn token(db: &Db, workspace: &str, role: Role) -> String {
    let (_, s) = tgcrm_store::tokens::create(db, workspace, role, None, None, chrono::Utc::now())
        .await
        .unwrap();
    s.expose().to_owned()
}

impl App {
    async fn call(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> Answer {
        let mut r = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let res = r.send().await.unwrap();
        let status = res.status().as_u16();
        let content_type = res
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let position = res
            .headers()
            .get("x-event-position")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = res.text().await.unwrap();
        Answer {
            status,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            content_type,
            position,
        }
    }

    async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(&self.admin, Method::POST, path, Some(body)).await
    }

    async fn get(&self, path: &str) -> Answer {
        self.call(&self.admin, Method::GET, path, None).await
    }

    /// Subscribe hook `name`; returns (id, secret).
    async fn webhook(&self, name: &str, types: &[&str]) -> (String, String) {
        let a = self
            .post(
                "/v1/webhooks",
                json!({"url": self.receiver.url(name), "event_types": types}),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        (
            a.body["webhook"]["id"].as_str().unwrap().to_owned(),
            a.body["secret"].as_str().unwrap().to_owned(),
        )
    }

    async fn ticket(&self, subject: &str) -> String {
        let a = self
            .post(
                "/v1/tickets",
                json!({"subject": subject, "body": "Where is my order?",
                       "customer": {"telegram_user_id": 77, "name": "Ann", "username": "ann_k"}}),
            )
            .await;
        assert_eq!(a.status, 201, "{}", a.body);
        a.body["id"].as_str().unwrap().to_owned()
    }

    /// Poll `path` until `pred` holds.
    async fn until(&self, path: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + WAIT;
        loop {
            let a = self.get(path).await;
            if pred(&a.body) || std::time::Instant::now() > deadline {
                return a.body;
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    }
}

macro_rules! both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                super::$name(true).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                super::$name(false).await;
            }
        }
    };
}

async fn a_new_webhook_shows_its_secret_once_and_deliveries_verify_with_it(pg: bool) {
    let app = spawn(pg, true).await;
    let (id, secret) = app
        .webhook("a", &["ticket.created", "message.created"])
        .await;
    assert!(secret.starts_with("whsec_"));
    let got = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(got.status, 200);
    assert!(!got.body.to_string().contains("whsec_"));
    assert_eq!(got.body["active"], true);
    let listed = app.get("/v1/webhooks").await;
    assert!(!listed.body.to_string().contains("whsec_"));

    let ticket = app.ticket("Late order").await;
    let received = app.receiver.wait_for("a", WAIT, |r| r.len() >= 2).await;
    assert_eq!(received.len(), 2);
    assert!(received.iter().all(|r| r.verify(&secret)));
    let message = received[1].json();
    assert_eq!(message["type"], "message.created");
    assert_eq!(message["data"]["ticket"]["id"], ticket);
    assert_eq!(message["data"]["message"]["text"], "Where is my order?");
    assert_eq!(message["data"]["message"]["sender"]["kind"], "customer");
    assert_eq!(message["data"]["message"]["sender"]["telegram_user_id"], 77);
    assert_eq!(message["data"]["message"]["sender"]["username"], "ann_k");

    // The delivery log: each delivery with its attempts.
    let log = app
        .until(&format!("/v1/webhooks/{id}/deliveries"), |b| {
            b["items"]
                .as_array()
                .is_some_and(|i| i.len() == 2 && i.iter().all(|d| d["status"] == "succeeded"))
        })
        .await;
    let first = &log["items"][0];
    assert_eq!(first["attempts"][0]["status_code"], 200);
    assert!(first["attempts"][0]["latency_ms"].is_number());
    assert_eq!(first["attempts"][0]["succeeded"], true);
    assert_eq!(first["webhook_id"], id);
    assert!(
        received
            .iter()
            .any(|r| r.webhook_id() == first["id"].as_str().unwrap())
    );
}
both!(a_new_webhook_shows_its_secret_once_and_deliveries_verify_with_it);

async fn bad_webhook_requests_get_problem_details(pg: bool) {
    let app = spawn(pg, true).await;
    let cases = [
        (
            json!({"url": "ftp://example.com", "event_types": ["*"]}),
            422,
            "url",
        ),
        (
            json!({"url": "https://example.com", "event_types": []}),
            422,
            "event_types",
        ),
        (
            json!({"url": "https://example.com", "event_types": ["ticket.nope"]}),
            422,
            "event_types[0]",
        ),
        (
            json!({"url": "https://u:p@example.com", "event_types": ["*"]}),
            422,
            "url",
        ),
        (
            json!({"url": "https://example.com", "event_types": ["*"], "description": "x".repeat(501)}),
            422,
            "description",
        ),
        (
            json!({"url": "https://example.com", "event_types": ["*"], "secret": "mine"}),
            400,
            "",
        ),
        (json!({"event_types": ["*"]}), 400, ""),
    ];
    for (body, status, field) in cases {
        let a = app.post("/v1/webhooks", body.clone()).await;
        assert_eq!(a.status, status, "{body} -> {}", a.body);
        assert_eq!(a.content_type, "application/problem+json");
        assert_eq!(a.body["status"], status);
        if !field.is_empty() {
            assert!(
                a.body["errors"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|e| e["field"] == field),
                "{}",
                a.body
            );
        }
    }
    let (id, _) = app.webhook("p", &["*"]).await;
    for (method, path, body, status) in [
        (Method::GET, "/v1/webhooks/not-an-id".to_owned(), None, 404),
        (
            Method::GET,
            format!("/v1/webhooks/{}", uuid::Uuid::now_v7()),
            None,
            404,
        ),
        (
            Method::PATCH,
            format!("/v1/webhooks/{id}"),
            Some(json!({})),
            422,
        ),
        (
            Method::PATCH,
            format!("/v1/webhooks/{id}"),
            Some(json!({"event_types": ["x"]})),
            422,
        ),
        (
            Method::POST,
            format!("/v1/webhooks/{id}/replay"),
            Some(json!({})),
            422,
        ),
        (
            Method::POST,
            format!("/v1/webhooks/{id}/replay"),
            Some(json!({"from_position": "zz"})),
            422,
        ),
        (
            Method::POST,
            format!("/v1/webhooks/{id}/rotate-secret"),
            Some(json!({"grace_seconds": -1})),
            422,
        ),
        (
            Method::GET,
            format!("/v1/webhooks/{id}/deliveries?status=weird"),
            None,
            422,
        ),
        (
            Method::GET,
            format!("/v1/webhooks/{id}/deliveries?limit=0"),
            None,
            422,
        ),
        (
            Method::GET,
            "/v1/webhooks/dead-letters?cursor=!!".to_owned(),
            None,
            422,
        ),
        (
            Method::POST,
            format!("/v1/webhooks/deliveries/{}/redeliver", uuid::Uuid::now_v7()),
            None,
            404,
        ),
    ] {
        let a = app.call(&app.admin, method.clone(), &path, body).await;
        assert_eq!(a.status, status, "{method} {path} -> {}", a.body);
        assert_eq!(a.content_type, "application/problem+json");
    }
    // Admins only.
    let agent = token(&app.db, "acme", Role::Agent).await;
    let a = app.call(&agent, Method::GET, "/v1/webhooks", None).await;
    assert_eq!(a.status, 403);
    let a = app
        .call("nope", Method::POST, "/v1/webhooks", Some(json!({})))
        .await;
    assert_eq!(a.status, 401);
}
both!(bad_webhook_requests_get_problem_details);

async fn internal_targets_are_refused_at_creation(pg: bool) {
    let app = spawn(pg, false).await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.5/x",
        "http://192.168.1.1/x",
        "http://100.64.0.1/x",
        "http://[::1]/x",
        "http://[fd00::1]/x",
        "http://[fe80::1]/x",
    ] {
        let a = app
            .post("/v1/webhooks", json!({"url": url, "event_types": ["*"]}))
            .await;
        assert_eq!(a.status, 422, "{url} -> {}", a.body);
        assert_eq!(a.body["errors"][0]["field"], "url");
    }
}
both!(internal_targets_are_refused_at_creation);

async fn another_workspace_sees_none_of_the_webhooks(pg: bool) {
    let app = spawn(pg, true).await;
    app.receiver
        .script("i", std::iter::repeat_n(Reply::status(500), 3));
    let (id, _) = app.webhook("i", &["ticket.created"]).await;
    app.ticket("Mine").await;
    let dead = app
        .until("/v1/webhooks/dead-letters", |b| {
            b["items"].as_array().is_some_and(|i| !i.is_empty())
        })
        .await;
    let delivery = dead["items"][0]["id"].as_str().unwrap().to_owned();
    let other = token(&app.db, "globex", Role::Admin).await;
    for (method, path, body) in [
        (Method::GET, format!("/v1/webhooks/{id}"), None),
        (
            Method::PATCH,
            format!("/v1/webhooks/{id}"),
            Some(json!({"active": false})),
        ),
        (Method::DELETE, format!("/v1/webhooks/{id}"), None),
        (
            Method::POST,
            format!("/v1/webhooks/{id}/rotate-secret"),
            None,
        ),
        (Method::GET, format!("/v1/webhooks/{id}/deliveries"), None),
        (
            Method::POST,
            format!("/v1/webhooks/{id}/replay"),
            Some(json!({"from_position": "0-0"})),
        ),
        (
            Method::POST,
            format!("/v1/webhooks/deliveries/{delivery}/redeliver"),
            None,
        ),
    ] {
        let a = app.call(&other, method.clone(), &path, body).await;
        assert_eq!(a.status, 404, "{method} {path} -> {}", a.body);
    }
    for path in ["/v1/webhooks", "/v1/webhooks/dead-letters"] {
        let a = app.call(&other, Method::GET, path, None).await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body["items"].as_array().unwrap().len(), 0, "{path}");
    }
    // And A's endpoint is untouched.
    let a = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(a.body["active"], true);
}
both!(another_workspace_sees_none_of_the_webhooks);

async fn dead_letters_are_listed_and_redelivered(pg: bool) {
    let app = spawn(pg, true).await;
    app.receiver
        .script("d", std::iter::repeat_n(Reply::status(500), 3));
    let (id, _) = app.webhook("d", &["ticket.created"]).await;
    app.ticket("Dead").await;
    let dead = app
        .until("/v1/webhooks/dead-letters", |b| {
            b["items"].as_array().is_some_and(|i| !i.is_empty())
        })
        .await;
    let d = &dead["items"][0];
    assert_eq!(d["status"], "dead");
    assert_eq!(d["attempt_count"], 3);
    assert_eq!(d["attempts"].as_array().unwrap().len(), 3);
    assert_eq!(d["attempts"][2]["status_code"], 500);
    assert_eq!(d["attempts"][2]["response_excerpt"], "status 500");
    // The exhaustion is on record in the log.
    let feed = app
        .until("/v1/events?type=WebhookExhausted", |b| {
            b["items"].as_array().is_some_and(|i| !i.is_empty())
        })
        .await;
    assert_eq!(feed["items"][0]["aggregate_id"], id);
    let delivery = d["id"].as_str().unwrap();
    let a = app
        .call(
            &app.admin,
            Method::POST,
            &format!("/v1/webhooks/deliveries/{delivery}/redeliver"),
            None,
        )
        .await;
    assert_eq!(a.status, 202, "{}", a.body);
    assert!(a.position.is_some());
    let log = app
        .until(&format!("/v1/webhooks/{id}/deliveries"), |b| {
            b["items"][0]["status"] == "succeeded"
        })
        .await;
    assert_eq!(log["items"][0]["attempt_count"], 4);
    let empty = app.get("/v1/webhooks/dead-letters").await;
    assert_eq!(empty.body["items"].as_array().unwrap().len(), 0);
}
both!(dead_letters_are_listed_and_redelivered);

async fn a_replay_sends_history_again(pg: bool) {
    let app = spawn(pg, true).await;
    let before = app.ticket("Before").await;
    let (id, _) = app.webhook("r", &["ticket.created"]).await;
    let a = app
        .post(
            &format!("/v1/webhooks/{id}/replay"),
            json!({"from_position": "0-0"}),
        )
        .await;
    assert_eq!(a.status, 202, "{}", a.body);
    assert!(a.body["replay_id"].as_str().unwrap().starts_with("rpl_"));
    let got = app.receiver.wait_for("r", WAIT, |r| !r.is_empty()).await;
    assert_eq!(got[0].json()["data"]["ticket"]["id"], before);
    let log = app
        .until(&format!("/v1/webhooks/{id}/deliveries"), |b| {
            b["items"][0]["status"] == "succeeded"
        })
        .await;
    assert!(
        log["items"][0]["origin"]
            .as_str()
            .unwrap()
            .starts_with("replay:")
    );
}
both!(a_replay_sends_history_again);

async fn a_rotated_secret_signs_alongside_the_old_one(pg: bool) {
    let app = spawn(pg, true).await;
    let (id, old) = app.webhook("k", &["ticket.created"]).await;
    let a = app
        .post(
            &format!("/v1/webhooks/{id}/rotate-secret"),
            json!({"grace_seconds": 3600}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    let new = a.body["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(a.body["webhook"]["previous_secret_expires_at"].is_string());
    app.ticket("Rotated").await;
    let got = app.receiver.wait_for("k", WAIT, |r| !r.is_empty()).await;
    assert_eq!(
        got[0]
            .header("webhook-signature")
            .unwrap()
            .split(' ')
            .count(),
        2
    );
    assert!(got[0].verify(&old) && got[0].verify(&new));
}
both!(a_rotated_secret_signs_alongside_the_old_one);

async fn switching_a_webhook_off_and_on(pg: bool) {
    let app = spawn(pg, true).await;
    let (id, _) = app.webhook("s", &["ticket.created"]).await;
    let a = app
        .call(
            &app.admin,
            Method::PATCH,
            &format!("/v1/webhooks/{id}"),
            Some(json!({"active": false, "description": "paused"})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.body["active"], false);
    assert_eq!(a.body["disabled_reason"], "manual");
    assert!(a.body["disabled_at"].is_string());
    assert_eq!(a.body["description"], "paused");
    // A stale If-Match is refused.
    let stale = app
        .client
        .patch(format!("{}/v1/webhooks/{id}", app.base))
        .bearer_auth(&app.admin)
        .header("If-Match", "\"1\"")
        .json(&json!({"active": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 412);
    app.ticket("While off").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(app.receiver.received("s").is_empty());
    let a = app
        .call(
            &app.admin,
            Method::PATCH,
            &format!("/v1/webhooks/{id}"),
            Some(json!({"active": true})),
        )
        .await;
    assert_eq!(a.status, 200);
    assert_eq!(a.body["disabled_reason"], Value::Null);
    app.ticket("On again").await;
    let got = app.receiver.wait_for("s", WAIT, |r| !r.is_empty()).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["data"]["ticket"]["subject"], "On again");
    // Deleting stops everything and the endpoint is gone.
    let a = app
        .call(
            &app.admin,
            Method::DELETE,
            &format!("/v1/webhooks/{id}"),
            None,
        )
        .await;
    assert_eq!(a.status, 204);
    assert_eq!(app.get(&format!("/v1/webhooks/{id}")).await.status, 404);
}
both!(switching_a_webhook_off_and_on);

async fn a_gone_receiver_disables_the_webhook_and_the_api_says_why(pg: bool) {
    let app = spawn(pg, true).await;
    app.receiver.script("g", [Reply::status(410)]);
    let (id, _) = app.webhook("g", &["ticket.created"]).await;
    app.ticket("Gone").await;
    let w = app
        .until(&format!("/v1/webhooks/{id}"), |b| b["active"] == false)
        .await;
    assert_eq!(w["disabled_reason"], "gone");
    assert!(w["disabled_at"].is_string());
    assert!(w["disabled_detail"].as_str().unwrap().contains("410"));
    // The global feed lags while other transactions run on the cluster.
    let feed = app
        .until("/v1/events?type=WebhookEndpointDisabled", |b| {
            b["items"].as_array().is_some_and(|i| !i.is_empty())
        })
        .await;
    assert_eq!(feed["items"][0]["metadata"]["actor"], "system:webhooks");
}
both!(a_gone_receiver_disables_the_webhook_and_the_api_says_why);

async fn the_openapi_document_describes_webhooks(pg: bool) {
    let app = spawn(pg, true).await;
    let doc: Value = app
        .client
        .get(format!("{}/openapi.json", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/v1/webhooks",
        "/v1/webhooks/{id}",
        "/v1/webhooks/{id}/rotate-secret",
        "/v1/webhooks/{id}/deliveries",
        "/v1/webhooks/{id}/replay",
        "/v1/webhooks/dead-letters",
        "/v1/webhooks/deliveries/{id}/redeliver",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
    assert!(doc["components"]["schemas"].get("CreatedWebhook").is_some());
    assert!(doc["components"]["schemas"].get("DeliveryView").is_some());
}
both!(the_openapi_document_describes_webhooks);
