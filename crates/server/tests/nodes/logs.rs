//! No secret in any log line: a `crm serve` at `debug` level, JSON logs,
//! handles requests carrying a token, issues and rotates tokens and a webhook
//! secret, and connects with a password in `DATABASE_URL`; none of them
//! appears in what it logs. Request and correlation ids do.

use std::io::Read;
use std::process::Stdio;
use std::time::Duration;

use serde_json::{Value, json};

use crate::{crm, free_port, fresh_database, open_ticket};

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let database = fresh_database().await;
    // Trust authentication ignores the password, so it can be a marker.
    let password = "pw-never-logged-7f3a";
    let with_password = database.replacen("postgres@", &format!("postgres:{password}@"), 1);
    assert_ne!(with_password, *database, "the test URL names the user");
    let out = crm(&with_password)
        .args(["token", "create", "--workspace", "acme", "--role", "admin"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();

    let port = free_port();
    let mut child = crm(&with_password)
        .arg("serve")
        .env("CRM_BIND", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "debug")
        .env("CRM_LOG_FORMAT", "json")
        .env("CRM_WEBHOOK_SEND", "false")
        .env("CRM_WEBHOOK_ALLOW_PRIVATE", "true")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drain both pipes while the server runs: a full pipe would block its logging.
    let drain = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = pipe.read_to_string(&mut text);
            text
        })
    };
    let stderr = drain(Box::new(child.stderr.take().unwrap()));
    let stdout = drain(Box::new(child.stdout.take().unwrap()));
    // Stopped however the test ends.
    let mut child = crate::Node {
        name: "logged".into(),
        port,
        child,
    };
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..300 {
        if client
            .get(format!("{base}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "crm serve did not come up");

    let ticket = open_ticket(&client, port, &token, 1)
        .await
        .expect("a ticket");
    let issued: Value = client
        .post(format!("{base}/v1/tokens"))
        .bearer_auth(&token)
        .json(&json!({"role": "analyst", "label": "logged analyst"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let agent_secret = issued["secret"]
        .as_str()
        .expect("the new secret")
        .to_owned();
    let rotated: Value = client
        .post(format!(
            "{base}/v1/tokens/{}/rotate",
            issued["token"]["id"].as_str().unwrap()
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rotated_secret = rotated["secret"]
        .as_str()
        .expect("the rotated secret")
        .to_owned();
    let hook: Value = client
        .post(format!("{base}/v1/webhooks"))
        .bearer_auth(&token)
        .json(&json!({"url": "http://127.0.0.1:9/in", "event_types": ["*"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let webhook_secret = hook["secret"]
        .as_str()
        .expect("the signing secret")
        .to_owned();
    // A refused token is logged as refused, not by its value.
    let wrong = format!("{}x", &token[..token.len() - 1]);
    let refused = client
        .get(format!("{base}/v1/tickets/{ticket}"))
        .bearer_auth(&wrong)
        .header("x-correlation-id", "corr-logged-1")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let answered = client
        .get(format!("{base}/v1/tickets/{ticket}"))
        .bearer_auth(&token)
        .header("x-request-id", "req-logged-1")
        .send()
        .await
        .unwrap();
    assert_eq!(answered.status(), 200);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let _ = child.child.kill();
    let _ = child.child.wait();
    let mut logs = stderr.join().unwrap();
    logs.push_str(&stdout.join().unwrap());
    assert!(logs.lines().count() > 10, "debug logging was on:\n{logs}");
    let first = logs.lines().next().unwrap();
    assert!(
        serde_json::from_str::<Value>(first).is_ok(),
        "JSON lines: {first}"
    );
    assert!(logs.contains("req-logged-1"), "request ids are logged");
    for (what, secret) in [
        ("the admin token", token.as_str()),
        ("the refused token", wrong.as_str()),
        ("a new token", agent_secret.as_str()),
        ("a rotated token", rotated_secret.as_str()),
        ("a webhook secret", webhook_secret.as_str()),
        ("the database password", password),
    ] {
        assert!(!logs.contains(secret), "{what} is in the logs");
    }
    database.finish().await;
}
