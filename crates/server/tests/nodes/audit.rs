//! `crm audit verify`: passes on an untouched log, then names the first
//! position where the chain breaks after a row is altered by hand.

use std::time::{Duration, Instant};

use sqlx::Row;

use crate::{crm, fresh_database, open_ticket, start_node, wait_healthy};

#[tokio::test]
async fn audit_verify_finds_the_first_altered_event() {
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
    let node = start_node(&db_url, "audited");
    let client = reqwest::Client::new();
    wait_healthy(&client, &node).await;
    for i in 0..5 {
        open_ticket(&client, node.port, &token, i).await.unwrap();
    }
    let pool = sqlx::PgPool::connect(&db_url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let events: i64 = sqlx::query("SELECT COUNT(*) FROM events")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        let links: i64 = sqlx::query("SELECT COUNT(*) FROM audit_chain")
            .fetch_one(&pool)
            .await
            .unwrap()
            .get(0);
        if events == links {
            break;
        }
        assert!(Instant::now() < deadline, "the chain did not catch up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(node);

    let ok = crm(&db_url).args(["audit", "verify"]).output().unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert!(String::from_utf8_lossy(&ok.stderr).contains("chain intact"));

    // Rewrite history by hand: the fourth event's payload.
    let victim: (i64, i64) = {
        let r = sqlx::query(
            "SELECT transaction_id::text::bigint, position FROM events ORDER BY transaction_id, position OFFSET 3 LIMIT 1",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        (r.get(0), r.get(1))
    };
    sqlx::query("ALTER TABLE events DISABLE TRIGGER events_no_update")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE events SET actor = 'someone-else' WHERE position = $1")
        .bind(victim.1)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("ALTER TABLE events ENABLE TRIGGER events_no_update")
        .execute(&pool)
        .await
        .unwrap();

    let broken = crm(&db_url).args(["audit", "verify"]).output().unwrap();
    assert!(!broken.status.success());
    let report = String::from_utf8_lossy(&broken.stderr);
    assert!(
        report.contains(&format!("position {}-{}", victim.0, victim.1)),
        "the report names the altered position: {report}"
    );
    pool.close().await;
}
