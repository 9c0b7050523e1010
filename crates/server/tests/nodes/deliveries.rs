//! Side effects survive a node's death: three `crm serve` processes with the
//! Telegram bot (against a fake Bot API) and a webhook subscription; the node
//! running the Telegram sender is killed mid-load; every customer still gets
//! every reply and the webhook receiver every `ticket.created`.

use std::collections::HashSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;
use tgcrm_fake_telegram::{Call, FakeBotApi};
use tgcrm_webhooks::testing::Receiver;

use crate::{Node, crm, free_port, open_ticket, reply, wait_healthy};

const GROUP: &str = "-1001234567890";

fn start_bot_node(db_url: &str, name: &str, telegram: &str) -> Node {
    let port = free_port();
    let separator = if db_url.contains('?') { '&' } else { '?' };
    let url = format!("{db_url}{separator}application_name={name}");
    let child = crm(&url)
        .arg("serve")
        .env("CRM_BIND", format!("127.0.0.1:{port}"))
        .env("CRM_RATE_LIMIT_ADMIN", "100000")
        .env("TELEGRAM_BOT_TOKEN", "123:TEST")
        .env("TELEGRAM_SUPPORT_CHAT_ID", GROUP)
        .env("TELEGRAM_API_URL", telegram)
        .env("TELEGRAM_WORKSPACE", "acme")
        .env("TELEGRAM_PRIVATE_CHAT_INTERVAL_MS", "0")
        .env("TELEGRAM_GROUP_INTERVAL_MS", "0")
        .env("CRM_WEBHOOK_ALLOW_PRIVATE", "true")
        .env("CRM_WEBHOOK_RETRY_SCHEDULE", "200ms,500ms,1s,2s,5s")
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

/// Chats that received a `sendMessage` with this text.
fn chats_sent(calls: &[Call], text: &str) -> HashSet<i64> {
    calls
        .iter()
        .filter(|c| c.name() == "sendmessage" && c.params["text"] == text)
        .filter_map(|c| c.params["chat_id"].as_i64())
        .collect()
}

#[tokio::test]
async fn killing_the_node_that_sends_loses_no_telegram_message_or_webhook() {
    let database = tgcrm_testkit::postgres().await;
    let db_url = database.url.clone();
    let out = crm(&db_url)
        .args(["token", "create", "--workspace", "acme", "--role", "admin"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let telegram = FakeBotApi::start().await.unwrap();
    let receiver = Receiver::start().await;

    let mut nodes: Vec<Node> = (1..=3)
        .map(|i| start_bot_node(&db_url, &format!("node{i}"), telegram.url()))
        .collect();
    let client = reqwest::Client::new();
    for n in &nodes {
        wait_healthy(&client, n).await;
    }
    let created = client
        .post(format!("http://127.0.0.1:{}/v1/webhooks", nodes[0].port))
        .bearer_auth(&token)
        .json(&json!({"url": receiver.url("sink"), "event_types": ["ticket.created"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201, "{}", created.text().await.unwrap());
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();

    // Load on every node: a ticket (customer 1000 + i) and an agent reply.
    let mut tickets = Vec::new();
    for i in 0..20 {
        if let Some(t) = open_ticket(&client, nodes[i % 3].port, &token, i).await {
            assert!(reply(&client, nodes[(i + 1) % 3].port, &token, &t).await);
            tickets.push(t);
        }
    }

    // Kill the node that sends to Telegram, while it is sending.
    let deadline = Instant::now() + Duration::from_secs(15);
    let holder = loop {
        if let Some(h) = crate::lock_holder(&pool, "reactor:telegram_outbound").await {
            break h;
        }
        assert!(
            Instant::now() < deadline,
            "no node runs the Telegram sender"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let index = nodes.iter().position(|n| n.name == holder).unwrap();
    let mut victim = nodes.remove(index);
    victim.child.kill().unwrap();
    victim.child.wait().unwrap();

    for i in 20..40 {
        if let Some(t) = open_ticket(&client, nodes[i % 2].port, &token, i).await {
            assert!(reply(&client, nodes[(i + 1) % 2].port, &token, &t).await);
            tickets.push(t);
        }
    }
    assert_eq!(
        tickets.len(),
        40,
        "every request on the survivors was acknowledged"
    );

    // Every customer gets the reply; the receiver gets every ticket.created.
    let expected: HashSet<i64> = (0..40).map(|i| 1000 + i).collect();
    let all_sent = telegram
        .wait_for(Duration::from_secs(60), |calls| {
            expected.is_subset(&chats_sent(calls, "a reply"))
        })
        .await;
    let sent = chats_sent(&telegram.calls(), "a reply");
    let missing: Vec<_> = expected.difference(&sent).collect();
    assert!(all_sent, "customers who never got their reply: {missing:?}");

    let hooks = receiver
        .wait_for("sink", Duration::from_secs(60), |r| {
            r.iter()
                .map(|h| h.webhook_id().to_owned())
                .collect::<HashSet<_>>()
                .len()
                >= 40
        })
        .await;
    let hooked: HashSet<String> = hooks
        .iter()
        .filter_map(|h| h.json()["data"]["ticket"]["id"].as_str().map(str::to_owned))
        .collect();
    let wanted: HashSet<String> = tickets.iter().cloned().collect();
    assert_eq!(
        hooked, wanted,
        "every ticket.created delivered (at least once; webhook-id identifies repeats)"
    );
    drop(nodes);
    pool.close().await;
    telegram.stop().await;
    receiver.stop().await;
    database.finish().await;
}
