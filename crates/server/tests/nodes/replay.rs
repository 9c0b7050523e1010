//! `crm replay` while the server runs: the rebuild happens in shadow tables in
//! the server's runner, and the API keeps answering from the old tables until
//! the swap; nothing disappears from a list meanwhile.

use std::time::Duration;

use serde_json::Value;

use crate::{crm, fresh_database, open_ticket, start_node, wait_healthy};

#[tokio::test]
async fn replaying_while_serving_never_empties_the_ticket_list() {
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
    let node = start_node(&db_url, "replayed");
    let client = reqwest::Client::new();
    wait_healthy(&client, &node).await;
    for i in 0..40 {
        open_ticket(&client, node.port, &token, i).await.unwrap();
    }
    // Wait for the list to show everything.
    for _ in 0..100 {
        if listed(&client, node.port, &token).await == 40 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let replay = tokio::task::spawn_blocking({
        let db_url = db_url.clone();
        move || {
            crm(&db_url)
                .args(["replay", "--projection", "ticket_list"])
                .output()
                .unwrap()
        }
    });
    let mut observed = Vec::new();
    while !replay.is_finished() {
        observed.push(listed(&client, node.port, &token).await);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let out = replay.await.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!observed.is_empty());
    assert!(
        observed.iter().all(|n| *n == 40),
        "the list stayed whole during the rebuild: {observed:?}"
    );
    assert_eq!(listed(&client, node.port, &token).await, 40);
}

/// `crm replay` on SQLite (the zero-setup default, one connection): every
/// projector rebuilds from the log, and the server then serves the same list.
#[tokio::test]
async fn replaying_on_sqlite_rebuilds_every_projection() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("crm.db").display());
    let out = crm(&url)
        .args(["token", "create", "--workspace", "acme", "--role", "admin"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let mut node = serve_sqlite(&url);
    let client = reqwest::Client::new();
    wait_healthy(&client, &node).await;
    for i in 0..25 {
        open_ticket(&client, node.port, &token, i).await.unwrap();
    }
    let _ = node.child.kill();
    let _ = node.child.wait();

    let replay = crm(&url).arg("replay").output().unwrap();
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let report = String::from_utf8_lossy(&replay.stdout).into_owned()
        + &String::from_utf8_lossy(&replay.stderr);
    for projector in [
        "ticket_list",
        "conversation",
        "audit_chain",
        "service_metrics",
    ] {
        assert!(
            report.contains(&format!("{projector}: ")),
            "{projector} rebuilt: {report}"
        );
    }

    let node = serve_sqlite(&url);
    wait_healthy(&client, &node).await;
    assert_eq!(listed(&client, node.port, &token).await, 25);
    let audit = crm(&url).args(["audit", "verify"]).output().unwrap();
    assert!(
        audit.status.success(),
        "{}",
        String::from_utf8_lossy(&audit.stderr)
    );
}

/// `crm serve` on a SQLite file (no `application_name`: that is Postgres's).
/// How many tickets the node's list shows (up to 100).
async fn listed(client: &reqwest::Client, port: u16, token: &str) -> usize {
    let v: Value = client
        .get(format!("http://127.0.0.1:{port}/v1/tickets?limit=100"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["items"].as_array().map(Vec::len).unwrap_or(0)
}

fn serve_sqlite(url: &str) -> crate::Node {
    let port = crate::free_port();
    let child = crm(url)
        .arg("serve")
        .env("CRM_BIND", format!("127.0.0.1:{port}"))
        .env("CRM_RATE_LIMIT_ADMIN", "100000")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    crate::Node {
        name: "sqlite".into(),
        port,
        child,
    }
}
