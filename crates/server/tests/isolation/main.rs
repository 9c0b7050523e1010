//! Workspace isolation across every endpoint, table-driven: a second
//! workspace's token gets 404 for every resource of the first, and never sees
//! the first workspace's resources in a list or feed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

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

/// A fresh, migrated database; dropped by `finish` (or kept if the test fails).
async fn database(postgres: bool) -> TestDb {
    if postgres {
        tgcrm_testkit::postgres().await
    } else {
        tgcrm_testkit::sqlite().await
    }
}

async fn token(db: &Db, workspace: &str, role: Role) -> String {
    let (_, s) = tgcrm_store::tokens::create(db, workspace, role, None, None, chrono::Utc::now())
        .await
        .unwrap();
    s.expose().to_owned()
}

struct Call {
    method: Method,
    path: String,
    body: Option<Value>,
}

fn call(method: Method, path: String, body: Option<Value>) -> Call {
    Call { method, path, body }
}

async fn send(client: &reqwest::Client, base: &str, token: &str, c: &Call) -> (u16, Value) {
    let mut r = client
        .request(c.method.clone(), format!("{base}{}", c.path))
        .bearer_auth(token);
    if let Some(b) = &c.body {
        r = r.json(b);
    }
    let res = r.send().await.unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn run(postgres: bool) {
    let test_db = database(postgres).await;
    let db = test_db.db.clone();
    let mut config = tgcrm_api::ApiConfig::default();
    config.webhooks.allow_private = true;
    config.webhooks.send = false;
    let app = Application::build_with(
        db.clone(),
        TcpListener::bind("127.0.0.1:0").unwrap(),
        Arc::new(tgcrm_store::SystemClock) as Arc<dyn Clock>,
        config,
        RunnerConfig {
            batch_size: 500,
            poll_interval: Duration::from_millis(50),
        },
    )
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    let a = token(&db, "acme", Role::Admin).await;
    let b = token(&db, "globex", Role::Admin).await;

    // Workspace A's resources.
    let (s, ticket) = send(
        &client,
        &base,
        &a,
        &call(
            Method::POST,
            "/v1/tickets".into(),
            Some(json!({"subject": "secret", "body": "acme only", "customer": {"telegram_user_id": 7, "name": "A"}})),
        ),
    )
    .await;
    assert_eq!(s, 201);
    let t = ticket["id"].as_str().unwrap().to_owned();
    let (s, issued) = send(
        &client,
        &base,
        &a,
        &call(
            Method::POST,
            "/v1/tokens".into(),
            Some(json!({"role": "agent"})),
        ),
    )
    .await;
    assert_eq!(s, 201);
    let tok = issued["token"]["id"].as_str().unwrap().to_owned();
    let (s, hook) = send(
        &client,
        &base,
        &a,
        &call(
            Method::POST,
            "/v1/webhooks".into(),
            Some(json!({"url": "http://127.0.0.1:9/hook", "event_types": ["*"]})),
        ),
    )
    .await;
    assert_eq!(s, 201, "{hook}");
    let w = hook["id"]
        .as_str()
        .or(hook["webhook"]["id"].as_str())
        .unwrap()
        .to_owned();

    // Every endpoint that names one of A's resources: 404 for B.
    let by_id = vec![
        call(Method::GET, format!("/v1/tickets/{t}"), None),
        call(
            Method::GET,
            format!("/v1/tickets/{t}?as_of=2100-01-01T00:00:00Z"),
            None,
        ),
        call(Method::GET, format!("/v1/tickets/{t}/messages"), None),
        call(
            Method::POST,
            format!("/v1/tickets/{t}/messages"),
            Some(json!({"text": "intrude"})),
        ),
        call(
            Method::POST,
            format!("/v1/tickets/{t}/status"),
            Some(json!({"status": "resolved"})),
        ),
        call(
            Method::POST,
            format!("/v1/tickets/{t}/priority"),
            Some(json!({"priority": "urgent"})),
        ),
        call(
            Method::POST,
            format!("/v1/tickets/{t}/assignment"),
            Some(json!({"agent_id": "0190a5a4-0000-7000-8000-000000000001"})),
        ),
        call(Method::DELETE, format!("/v1/tickets/{t}/assignment"), None),
        call(
            Method::POST,
            format!("/v1/tickets/{t}/tags"),
            Some(json!({"add": ["x"]})),
        ),
        call(
            Method::POST,
            format!("/v1/tickets/{t}/fields"),
            Some(json!({"set": {"k": "v"}})),
        ),
        call(Method::POST, format!("/v1/tickets/{t}/archive"), None),
        call(Method::GET, format!("/v1/tickets/{t}/events"), None),
        call(Method::POST, format!("/v1/tokens/{tok}/rotate"), None),
        call(Method::DELETE, format!("/v1/tokens/{tok}"), None),
        call(Method::GET, format!("/v1/webhooks/{w}"), None),
        call(
            Method::PATCH,
            format!("/v1/webhooks/{w}"),
            Some(json!({"active": false})),
        ),
        call(
            Method::POST,
            format!("/v1/webhooks/{w}/rotate-secret"),
            None,
        ),
        call(Method::GET, format!("/v1/webhooks/{w}/deliveries"), None),
        call(
            Method::POST,
            format!("/v1/webhooks/{w}/replay"),
            Some(json!({"from_position": "0-0"})),
        ),
        call(Method::DELETE, format!("/v1/webhooks/{w}"), None),
    ];
    for c in &by_id {
        let (status, body) = send(&client, &base, &b, c).await;
        assert_eq!(
            status, 404,
            "{} {} answered {status} {body} to another workspace",
            c.method, c.path
        );
        assert_eq!(body["status"], 404);
    }

    // Lists and feeds: nothing of A's.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let lists = vec![
        ("/v1/tickets?limit=100", "items"),
        ("/v1/events?limit=100", "items"),
        ("/v1/tokens", "items"),
        ("/v1/audit/access-log", "items"),
        ("/v1/webhooks", "items"),
        ("/v1/webhooks/dead-letters", "items"),
    ];
    for (path, field) in lists {
        let (status, body) = send(&client, &base, &b, &call(Method::GET, path.into(), None)).await;
        assert_eq!(status, 200, "{path}");
        let text = body.to_string();
        assert!(!text.contains(&t), "{path} shows A's ticket to B");
        assert!(!text.contains(&tok), "{path} shows A's token to B");
        assert!(!text.contains(&w), "{path} shows A's webhook to B");
        let own_items = body[field].as_array().map(Vec::len).unwrap_or(0);
        if path.starts_with("/v1/tickets") {
            assert_eq!(own_items, 0, "{path}");
        }
    }
    let export = client
        .get(format!("{base}/v1/events/export"))
        .bearer_auth(&b)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!export.contains(&t), "the export shows A's events to B");
    let (_, digest) = send(
        &client,
        &base,
        &b,
        &call(Method::GET, "/v1/audit/digest".into(), None),
    )
    .await;
    let (_, feed) = send(
        &client,
        &base,
        &b,
        &call(Method::GET, "/v1/events?limit=100".into(), None),
    )
    .await;
    let own = feed["items"].as_array().map(Vec::len).unwrap_or(0);
    assert_eq!(
        digest["chain_length"], own,
        "B's chain covers B's events only"
    );

    // And A still sees its own ticket, unchanged by B's attempts.
    let (status, mine) = send(
        &client,
        &base,
        &a,
        &call(Method::GET, format!("/v1/tickets/{t}"), None),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(mine["status"], "open");
    assert_eq!(mine["version"], 2);
    test_db.finish().await;
}

#[tokio::test]
async fn a_second_workspace_sees_nothing_of_the_first_on_sqlite() {
    run(false).await;
}

#[tokio::test]
async fn a_second_workspace_sees_nothing_of_the_first_on_postgres() {
    run(true).await;
}
