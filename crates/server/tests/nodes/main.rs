//! Several `crm serve` processes against one Postgres: load on all of them,
//! kill -9 the one running the projectors, and check that another takes over
//! and every projection converges with nothing lost or applied twice.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sqlx::Row;

mod audit;
mod deliveries;
mod faults;
mod logs;
mod replay;

/// A fresh Postgres database shared by the `crm` processes of one test
/// (already migrated). It reads as its URL (`&db` is a `&str`); clones share
/// it, and it is dropped with the last clone or by [`FreshDatabase::finish`]
/// (kept for inspection if the test fails).
#[derive(Clone)]
struct FreshDatabase(Arc<tgcrm_testkit::TestDb>);

impl std::ops::Deref for FreshDatabase {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0.url
    }
}

impl FreshDatabase {
    /// Drop the database now (if no clone still holds it).
    async fn finish(self) {
        if let Ok(test_db) = Arc::try_unwrap(self.0) {
            test_db.finish().await;
        }
    }
}

async fn fresh_database() -> FreshDatabase {
    FreshDatabase(Arc::new(tgcrm_testkit::postgres().await))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Node {
    name: String,
    port: u16,
    child: Child,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn crm(db_url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crm"));
    c.env("DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .env_remove("TELEGRAM_BOT_TOKEN");
    c
}

fn start_node(db_url: &str, name: &str) -> Node {
    let port = free_port();
    let separator = if db_url.contains('?') { '&' } else { '?' };
    let url = format!("{db_url}{separator}application_name={name}");
    let child = crm(&url)
        .arg("serve")
        .env("CRM_BIND", format!("127.0.0.1:{port}"))
        .env("CRM_RATE_LIMIT_ADMIN", "100000")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Node {
        name: name.to_owned(),
        port,
        child,
    }
}

async fn wait_healthy(client: &reqwest::Client, node: &Node) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = client
            .get(format!("http://127.0.0.1:{}/healthz", node.port))
            .send()
            .await
            && r.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "node {} did not come up",
            node.name
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn open_ticket(client: &reqwest::Client, port: u16, token: &str, n: usize) -> Option<String> {
    let r = client
        .post(format!("http://127.0.0.1:{port}/v1/tickets"))
        .bearer_auth(token)
        .json(&json!({"subject": format!("ticket {n}"), "body": "hello", "customer": {"telegram_user_id": 1000 + n, "name": "C"}}))
        .send()
        .await
        .ok()?;
    if !r.status().is_success() {
        return None;
    }
    let v: Value = r.json().await.ok()?;
    v["id"].as_str().map(str::to_owned)
}

async fn reply(client: &reqwest::Client, port: u16, token: &str, ticket: &str) -> bool {
    client
        .post(format!(
            "http://127.0.0.1:{port}/v1/tickets/{ticket}/messages"
        ))
        .bearer_auth(token)
        .json(&json!({"text": "a reply"}))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

/// The `application_name` of the connection holding leader lock `name` in
/// this test's database (other tests' nodes, in databases of their own, take
/// the same locks at the same time).
pub(crate) async fn lock_holder(pool: &sqlx::PgPool, name: &str) -> Option<String> {
    let key = tgcrm_projections::lock::lock_key(name);
    let (classid, objid) = ((key >> 32) as u32 as i64, (key & 0xffff_ffff) as u32 as i64);
    sqlx::query(
        "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid \
         WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = $1 AND l.objid::bigint = $2 \
         AND a.datname = current_database()",
    )
    .bind(classid)
    .bind(objid)
    .fetch_optional(pool)
    .await
    .unwrap()
    .map(|r| r.get::<String, _>(0))
}

async fn projector_holder(pool: &sqlx::PgPool) -> Option<String> {
    lock_holder(pool, tgcrm_projections::ticket_list::NAME).await
}

#[tokio::test]
async fn killing_the_node_that_runs_the_projectors_loses_nothing() {
    let db_url = fresh_database().await;
    let migrate = crm(&db_url).arg("migrate").output().unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let out = crm(&db_url)
        .args(["token", "create", "--workspace", "acme", "--role", "admin"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let mut nodes: Vec<Node> = (1..=3)
        .map(|i| start_node(&db_url, &format!("node{i}")))
        .collect();
    let client = reqwest::Client::new();
    for n in &nodes {
        wait_healthy(&client, n).await;
    }
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();

    // Load on every node.
    let mut tickets = Vec::new();
    for i in 0..30 {
        let port = nodes[i % 3].port;
        if let Some(t) = open_ticket(&client, port, &token, i).await {
            assert!(reply(&client, nodes[(i + 1) % 3].port, &token, &t).await);
            tickets.push(t);
        }
    }
    assert_eq!(tickets.len(), 30);

    // Find and kill the node running the projectors.
    let deadline = Instant::now() + Duration::from_secs(10);
    let holder = loop {
        if let Some(h) = projector_holder(&pool).await {
            break h;
        }
        assert!(Instant::now() < deadline, "no node took the projector lock");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let index = nodes
        .iter()
        .position(|n| n.name == holder)
        .expect("the holder is one of ours");
    let mut victim = nodes.remove(index);
    victim.child.kill().unwrap();
    victim.child.wait().unwrap();

    // More load on the survivors while they sort out who runs the projectors.
    for i in 30..60 {
        let port = nodes[i % 2].port;
        if let Some(t) = open_ticket(&client, port, &token, i).await {
            assert!(reply(&client, nodes[(i + 1) % 2].port, &token, &t).await);
            tickets.push(t);
        }
    }
    assert_eq!(
        tickets.len(),
        60,
        "every acknowledged request on the survivors"
    );

    // Another node takes over and the projections converge.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let opened: i64 =
            sqlx::query("SELECT COUNT(*) FROM events WHERE event_type = 'TicketOpened'")
                .fetch_one(&pool)
                .await
                .unwrap()
                .get(0);
        let messages: i64 =
            sqlx::query("SELECT COUNT(*) FROM events WHERE event_type = 'MessageAdded'")
                .fetch_one(&pool)
                .await
                .unwrap()
                .get(0);
        let listed: i64 = sqlx::query("SELECT COUNT(*) FROM rm_tickets")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        let conversation: i64 = sqlx::query("SELECT COUNT(*) FROM rm_messages")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        let counted: i64 =
            sqlx::query("SELECT COALESCE(SUM(message_count), 0)::bigint FROM rm_tickets")
                .fetch_one(&pool)
                .await
                .unwrap()
                .get(0);
        if opened == 60 && listed == 60 && conversation == messages && counted == messages {
            assert_eq!(messages, 120);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "projections did not converge: opened {opened}, listed {listed}, messages {messages}, conversation {conversation}, counted {counted}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let new_holder = projector_holder(&pool)
        .await
        .expect("a survivor runs the projectors");
    assert_ne!(new_holder, holder);
    drop(nodes);
    pool.close().await;
    db_url.finish().await;
}

#[tokio::test]
async fn after_kill_9_every_acknowledged_command_is_in_the_log_and_projections_converge() {
    let db_url = fresh_database().await;
    assert!(
        crm(&db_url)
            .arg("migrate")
            .output()
            .unwrap()
            .status
            .success()
    );
    let out = crm(&db_url)
        .args(["token", "create", "--workspace", "acme", "--role", "admin"])
        .output()
        .unwrap();
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut node = start_node(&db_url, "solo");
    let client = reqwest::Client::new();
    wait_healthy(&client, &node).await;

    // Writers keep going while the process is killed under them.
    let port = node.port;
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let client = client.clone();
            let token = token.clone();
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for i in 0..200 {
                    match open_ticket(&client, port, &token, w * 1000 + i).await {
                        Some(id) => acknowledged.push(id),
                        None => break,
                    }
                }
                acknowledged
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    node.child.kill().unwrap();
    node.child.wait().unwrap();
    let mut acknowledged = Vec::new();
    for w in writers {
        acknowledged.extend(w.await.unwrap());
    }
    assert!(
        !acknowledged.is_empty(),
        "some requests were acknowledged before the kill"
    );

    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    for id in &acknowledged {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) FROM events WHERE aggregate_id = $1 AND event_type = 'TicketOpened'",
        )
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap()
        .get(0);
        assert_eq!(n, 1, "acknowledged ticket {id} is in the log");
    }

    // Restart: the projections catch up with everything in the log.
    let node = start_node(&db_url, "solo-again");
    wait_healthy(&client, &node).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let opened: i64 =
            sqlx::query("SELECT COUNT(*) FROM events WHERE event_type = 'TicketOpened'")
                .fetch_one(&pool)
                .await
                .unwrap()
                .get(0);
        let listed: i64 = sqlx::query("SELECT COUNT(*) FROM rm_tickets")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        let messages: i64 =
            sqlx::query("SELECT COUNT(*) FROM events WHERE event_type = 'MessageAdded'")
                .fetch_one(&pool)
                .await
                .unwrap()
                .get(0);
        let conversation: i64 = sqlx::query("SELECT COUNT(*) FROM rm_messages")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        if opened == listed && messages == conversation && opened >= acknowledged.len() as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no convergence: opened {opened}, listed {listed}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(node);
    pool.close().await;
    db_url.finish().await;
}
