use std::time::Duration;

use tgcrm_domain::values::Status;
use tgcrm_webhooks::testing::Reply;

use crate::both;
use crate::harness::{Harness, TestDb, fast_config};

const WAIT: Duration = Duration::from_secs(20);

async fn signed_deliveries_verify_with_the_endpoint_secret(db: TestDb) {
    let h = Harness::start(db, fast_config()).await;
    let (_, secret) = h.endpoint("a", &["*"]).await;
    let ticket = h.open_ticket("Order late").await;
    let got = h.receiver.wait_for("a", WAIT, |r| r.len() >= 2).await;
    assert_eq!(got.len(), 2, "ticket.created and message.created");
    for r in &got {
        assert!(r.verify(&secret), "signature must verify: {:?}", r.headers);
        assert!(r.webhook_id().len() >= 32);
        assert_eq!(r.header("content-type"), Some("application/json"));
    }
    let created = got[0].json();
    assert_eq!(created["type"], "ticket.created");
    assert!(created["timestamp"].as_str().unwrap().ends_with('Z'));
    assert_eq!(created["data"]["ticket"]["id"], ticket.to_string());
    assert_eq!(created["data"]["ticket"]["subject"], "Order late");
    let message = got[1].json();
    assert_eq!(message["type"], "message.created");
    let m = &message["data"]["message"];
    assert_eq!(m["text"], "My order is late");
    assert_eq!(m["visibility"], "public");
    assert_eq!(m["sender"]["kind"], "customer");
    assert_eq!(m["sender"]["telegram_user_id"], 4242);
    assert_eq!(m["sender"]["username"], "ivanp");
    assert_eq!(message["data"]["ticket"]["status"], "open");
    assert!(message["data"]["ticket"].get("topic_id").is_some());
    // A wrong secret does not verify.
    assert!(!got[0].verify("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
}
both!(
    signed_deliveries,
    signed_deliveries_verify_with_the_endpoint_secret
);

async fn only_subscribed_types_are_delivered(db: TestDb) {
    let h = Harness::start(db, fast_config()).await;
    let (_, _) = h.endpoint("s", &["ticket.status_changed"]).await;
    let t = h.open_ticket("Status only").await;
    h.status(&t, Status::InProgress).await;
    let got = h.receiver.wait_for("s", WAIT, |r| !r.is_empty()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = if got.len() == 1 {
        h.receiver.received("s")
    } else {
        got
    };
    assert_eq!(got.len(), 1);
    let body = got[0].json();
    assert_eq!(body["type"], "ticket.status_changed");
    assert_eq!(body["data"]["from"], "open");
    assert_eq!(body["data"]["to"], "in_progress");
    assert_eq!(body["data"]["ticket"]["status"], "in_progress");
}
both!(subscriptions_filter, only_subscribed_types_are_delivered);

async fn failures_are_retried_with_the_same_webhook_id_until_success(db: TestDb) {
    let h = Harness::start(db, fast_config()).await;
    h.receiver.script(
        "f",
        [Reply::status(500), Reply::status(503).with_body("busy")],
    );
    let (id, secret) = h.endpoint("f", &["ticket.created"]).await;
    h.open_ticket("Retry me").await;
    let got = h.receiver.wait_for("f", WAIT, |r| r.len() >= 3).await;
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.webhook_id() == got[0].webhook_id()));
    assert!(got.iter().all(|r| r.body == got[0].body));
    assert!(got.iter().all(|r| r.verify(&secret)));
    let rows = h
        .wait_rows(&id, WAIT, |r| {
            r.first().is_some_and(|d| d.status == "succeeded")
        })
        .await;
    assert_eq!(rows[0].status, "succeeded");
    assert_eq!(rows[0].attempt_count, 3);
    let attempts = tgcrm_webhooks::queries::attempts(&h.db, &[rows[0].delivery_id.clone()])
        .await
        .unwrap();
    let a = &attempts[&rows[0].delivery_id];
    assert_eq!(
        a.iter().map(|a| a.status_code).collect::<Vec<_>>(),
        vec![Some(500), Some(503), Some(200)]
    );
    assert_eq!(a[1].response_excerpt.as_deref(), Some("busy"));
    assert!(!a[0].succeeded && a[2].succeeded);
}
both!(
    retries,
    failures_are_retried_with_the_same_webhook_id_until_success
);

async fn retry_after_is_honoured(db: TestDb) {
    let h = Harness::start(db, fast_config()).await;
    h.receiver.script("r", [Reply::retry_after(429, "2")]);
    h.endpoint("r", &["ticket.created"]).await;
    h.open_ticket("Slow down").await;
    let got = h.receiver.wait_for("r", WAIT, |r| r.len() >= 2).await;
    assert_eq!(got.len(), 2);
    let gap = got[1].at - got[0].at;
    // The schedule says 100 ms; the receiver asked for 2 s.
    assert!(gap >= Duration::from_millis(1900), "retried after {gap:?}");
}
both!(retry_after, retry_after_is_honoured);

async fn gone_disables_the_endpoint(db: TestDb) {
    let h = Harness::start(db, fast_config()).await;
    h.receiver.script("g", [Reply::status(410)]);
    let (id, _) = h.endpoint("g", &["ticket.created"]).await;
    h.open_ticket("Gone").await;
    let rows = h
        .wait_rows(&id, WAIT, |r| r.first().is_some_and(|d| d.status == "dead"))
        .await;
    assert_eq!(rows[0].status, "dead");
    let state = h.endpoint_state(&id).await;
    assert!(!state.active);
    assert_eq!(
        state.disabled_reason,
        Some(tgcrm_webhooks::endpoint::DisableReason::Gone)
    );
    assert!(state.disabled_at.is_some());
    assert!(
        h.event_types_in_log(&id.to_string())
            .await
            .contains(&"WebhookEndpointDisabled".to_owned())
    );
    // Nothing more is sent to it.
    h.open_ticket("After gone").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(h.receiver.received("g").len(), 1);
}
both!(gone, gone_disables_the_endpoint);

async fn a_slow_answer_is_a_timed_out_failure(db: TestDb) {
    let mut config = fast_config();
    config.timeout = Duration::from_millis(400);
    let h = Harness::start(db, config).await;
    h.receiver
        .script("t", [Reply::slow(Duration::from_secs(2))]);
    let (id, _) = h.endpoint("t", &["ticket.created"]).await;
    h.open_ticket("Timeout").await;
    let rows = h
        .wait_rows(&id, WAIT, |r| {
            r.first().is_some_and(|d| d.status == "succeeded")
        })
        .await;
    assert_eq!(rows[0].status, "succeeded");
    let attempts = tgcrm_webhooks::queries::attempts(&h.db, &[rows[0].delivery_id.clone()])
        .await
        .unwrap();
    let a = &attempts[&rows[0].delivery_id];
    assert_eq!(a.len(), 2);
    assert!(
        a[0].error
            .as_deref()
            .unwrap_or_default()
            .contains("timed out")
    );
    assert_eq!(a[0].status_code, None);
    assert!(a[0].latency_ms >= 300);
}
both!(timeouts, a_slow_answer_is_a_timed_out_failure);

async fn exhausted_deliveries_are_dead_letters_and_can_be_redelivered(db: TestDb) {
    let h = Harness::start(db, fast_config()).await;
    h.receiver
        .script("d", std::iter::repeat_n(Reply::status(500), 4));
    let (id, _) = h.endpoint("d", &["ticket.created"]).await;
    h.open_ticket("Dead").await;
    let rows = h
        .wait_rows(&id, WAIT, |r| r.first().is_some_and(|d| d.status == "dead"))
        .await;
    assert_eq!(rows[0].status, "dead");
    assert_eq!(rows[0].attempt_count, 4, "1 + 3 retries");
    assert!(
        rows[0]
            .dead_reason
            .as_deref()
            .unwrap()
            .contains("4 attempts")
    );
    let log = h.event_types_in_log(&id.to_string()).await;
    assert!(log.contains(&"WebhookExhausted".to_owned()), "{log:?}");
    assert!(
        h.endpoint_state(&id).await.active,
        "one dead letter does not disable"
    );

    // Redelivery: the same message again, from a fresh schedule.
    let ctx = tgcrm_store::commands::CommandContext {
        workspace_id: tgcrm_domain::WorkspaceId::parse(crate::harness::WS).unwrap(),
        metadata: tgcrm_store::Metadata::new("token:test", tgcrm_store::Source::Api),
        expected_version: None,
    };
    tgcrm_webhooks::app::redeliver(&h.store, h.clock.as_ref(), &ctx, &id, &rows[0].delivery_id)
        .await
        .unwrap();
    let rows = h
        .wait_rows(&id, WAIT, |r| {
            r.first().is_some_and(|d| d.status == "succeeded")
        })
        .await;
    assert_eq!(rows[0].status, "succeeded");
    let got = h.receiver.received("d");
    assert_eq!(got.len(), 5);
    assert_eq!(got[4].webhook_id(), got[0].webhook_id());
}
both!(
    dead_letters,
    exhausted_deliveries_are_dead_letters_and_can_be_redelivered
);

async fn deliveries_of_one_ticket_keep_log_order(db: TestDb) {
    let h = Harness::start(db, fast_config()).await;
    // The first delivery fails twice; later ones must wait for it.
    h.receiver
        .script("o", [Reply::status(500), Reply::status(500)]);
    let (_, _) = h.endpoint("o", &["message.created"]).await;
    let a = h.open_ticket("A").await;
    for i in 1..=4 {
        h.message(&a, &format!("a{i}")).await;
    }
    let b = h.open_ticket("B").await;
    h.message(&b, "b1").await;
    let got = h
        .receiver
        .wait_for("o", WAIT, |r| {
            r.iter().filter(|x| x.answered == 200).count() >= 7
        })
        .await;
    let ok_texts = |ticket: &str| -> Vec<String> {
        got.iter()
            .filter(|r| r.answered == 200)
            .map(|r| r.json())
            .filter(|j| j["data"]["ticket"]["id"] == ticket)
            .map(|j| j["data"]["message"]["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        ok_texts(&a.to_string()),
        vec!["My order is late", "a1", "a2", "a3", "a4"]
    );
    assert_eq!(ok_texts(&b.to_string()), vec!["My order is late", "b1"]);
    // No message of A was sent before A's first one got through.
    let first_ok = got
        .iter()
        .position(|r| r.answered == 200 && r.json()["data"]["ticket"]["id"] == a.to_string())
        .unwrap();
    assert!(
        got[..first_ok]
            .iter()
            .filter(|r| r.json()["data"]["ticket"]["id"] == a.to_string())
            .all(|r| r.json()["data"]["message"]["text"] == "My order is late")
    );
}
both!(ordering, deliveries_of_one_ticket_keep_log_order);

async fn a_restart_in_the_middle_of_retries_loses_nothing(db: TestDb) {
    let mut config = fast_config();
    config.retry_schedule = vec![Duration::from_millis(800); 3];
    let mut h = Harness::start(db, config).await;
    h.receiver.script("x", [Reply::status(500)]);
    let (id, secret) = h
        .endpoint("x", &["ticket.created", "message.created"])
        .await;
    h.open_ticket("Restart").await;
    h.receiver.wait_for("x", WAIT, |r| !r.is_empty()).await;
    h.stop_workers().await;
    // Written while nothing runs.
    let t2 = h.open_ticket("While down").await;
    h.start_workers();
    let rows = h
        .wait_rows(&id, WAIT, |r| {
            r.len() == 4 && r.iter().all(|d| d.status == "succeeded")
        })
        .await;
    assert_eq!(rows.len(), 4, "{rows:?}");
    assert!(rows.iter().all(|d| d.status == "succeeded"), "{rows:?}");
    let got = h.receiver.received("x");
    assert!(got.iter().all(|r| r.verify(&secret)));
    assert!(
        got.iter()
            .any(|r| r.json()["data"]["ticket"]["id"] == t2.to_string())
    );
    // Each delivery succeeded once.
    let mut ok: Vec<&str> = got
        .iter()
        .filter(|r| r.answered == 200)
        .map(|r| r.webhook_id())
        .collect();
    ok.sort_unstable();
    ok.dedup();
    assert_eq!(ok.len(), 4);
}
both!(restart, a_restart_in_the_middle_of_retries_loses_nothing);

async fn an_endpoint_failing_too_long_is_disabled(db: TestDb) {
    let mut config = fast_config();
    config.retry_schedule = vec![Duration::from_millis(150); 20];
    config.disable_after = Duration::from_millis(600);
    let h = Harness::start(db, config).await;
    h.receiver
        .script("z", std::iter::repeat_n(Reply::status(502), 50));
    let (id, _) = h.endpoint("z", &["ticket.created"]).await;
    h.open_ticket("Failing").await;
    let deadline = std::time::Instant::now() + WAIT;
    let state = loop {
        let s = h.endpoint_state(&id).await;
        if !s.active || std::time::Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(!state.active);
    assert_eq!(
        state.disabled_reason,
        Some(tgcrm_webhooks::endpoint::DisableReason::Failing)
    );
    let health = tgcrm_webhooks::queries::health(&h.db, &id.to_string())
        .await
        .unwrap();
    assert!(health.failing_since.is_some());
}
both!(auto_disable, an_endpoint_failing_too_long_is_disabled);

async fn a_slow_endpoint_does_not_hold_back_another(db: TestDb) {
    let h = Harness::start(db, fast_config()).await;
    h.receiver.script(
        "slow",
        std::iter::repeat_n(Reply::slow(Duration::from_secs(5)), 3),
    );
    h.endpoint("slow", &["ticket.created"]).await;
    h.endpoint("fast", &["ticket.created"]).await;
    for i in 0..3 {
        h.open_ticket(&format!("T{i}")).await;
    }
    let fast = h.receiver.wait_for("fast", WAIT, |r| r.len() >= 3).await;
    assert_eq!(fast.len(), 3);
    let slow = h.receiver.received("slow");
    // The slow endpoint is served one request at a time: at most one started.
    assert!(
        slow.len() <= 1,
        "slow lane ran {} requests concurrently",
        slow.len()
    );
}
both!(isolation, a_slow_endpoint_does_not_hold_back_another);

async fn during_a_rotation_deliveries_carry_both_signatures(db: TestDb) {
    let h = Harness::start(db, fast_config()).await;
    let (id, old) = h.endpoint("k", &["ticket.created"]).await;
    let ctx = tgcrm_store::commands::CommandContext {
        workspace_id: tgcrm_domain::WorkspaceId::parse(crate::harness::WS).unwrap(),
        metadata: tgcrm_store::Metadata::new("token:test", tgcrm_store::Source::Api),
        expected_version: None,
    };
    let (_, new) = tgcrm_webhooks::app::rotate_secret(
        &h.store,
        h.clock.as_ref(),
        &ctx,
        &id,
        chrono::Duration::hours(1),
    )
    .await
    .unwrap();
    h.open_ticket("Rotated").await;
    let got = h.receiver.wait_for("k", WAIT, |r| !r.is_empty()).await;
    let sig = got[0].header("webhook-signature").unwrap();
    assert_eq!(sig.split(' ').count(), 2, "{sig}");
    assert!(got[0].verify(&old));
    assert!(got[0].verify(new.expose()));
    // With no grace, only the new key signs.
    let (_, newest) = tgcrm_webhooks::app::rotate_secret(
        &h.store,
        h.clock.as_ref(),
        &ctx,
        &id,
        chrono::Duration::zero(),
    )
    .await
    .unwrap();
    h.open_ticket("Rotated again").await;
    let got = h.receiver.wait_for("k", WAIT, |r| r.len() >= 2).await;
    assert!(got[1].verify(newest.expose()));
    assert!(!got[1].verify(new.expose()));
    // The log never holds a secret.
    let log: Vec<serde_json::Value> = {
        #[derive(sqlx::FromRow)]
        struct P {
            payload: serde_json::Value,
        }
        let rows: Vec<P> =
            h.db.fetch_all(
                "SELECT payload FROM events WHERE aggregate_id = $1",
                tgcrm_store::args![id.to_string()],
            )
            .await
            .unwrap();
        rows.into_iter().map(|p| p.payload).collect()
    };
    assert!(!serde_json::to_string(&log).unwrap().contains("whsec_"));
}
both!(rotation, during_a_rotation_deliveries_carry_both_signatures);

async fn a_replay_delivers_history_again(db: TestDb) {
    let h = Harness::start(db, fast_config()).await;
    let t1 = h.open_ticket("Before the endpoint").await;
    h.status(&t1, Status::Resolved).await;
    let (id, _) = h
        .endpoint("p", &["ticket.created", "ticket.status_changed"])
        .await;
    let ctx = tgcrm_store::commands::CommandContext {
        workspace_id: tgcrm_domain::WorkspaceId::parse(crate::harness::WS).unwrap(),
        metadata: tgcrm_store::Metadata::new("token:test", tgcrm_store::Source::Api),
        expected_version: None,
    };
    tgcrm_webhooks::app::replay(
        &h.store,
        h.clock.as_ref(),
        &ctx,
        &id,
        tgcrm_webhooks::endpoint::ReplayFrom::Position {
            transaction_id: 0,
            position: 0,
        },
        None,
    )
    .await
    .unwrap();
    let got = h.receiver.wait_for("p", WAIT, |r| r.len() >= 2).await;
    let types: Vec<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types, vec!["ticket.created", "ticket.status_changed"]);
    // The ticket context is the one at the time of each event.
    assert_eq!(got[0].json()["data"]["ticket"]["status"], "open");
    assert_eq!(got[1].json()["data"]["ticket"]["status"], "resolved");
    let rows = h.rows(&id).await;
    assert!(rows.iter().all(|r| r.origin.starts_with("replay:")));
}
both!(replay, a_replay_delivers_history_again);

async fn internal_targets_are_refused_at_delivery_time(db: TestDb) {
    let mut config = fast_config();
    // The endpoint was accepted (say DNS pointed elsewhere then); now the guard is on.
    config.allow_private = false;
    config.retry_schedule = vec![Duration::from_millis(50)];
    let h = Harness::start(db, config).await;
    let (id, _) = h.endpoint("ssrf", &["ticket.created"]).await;
    h.open_ticket("SSRF").await;
    let rows = h
        .wait_rows(&id, WAIT, |r| r.first().is_some_and(|d| d.status == "dead"))
        .await;
    assert_eq!(rows[0].status, "dead");
    assert!(h.receiver.received("ssrf").is_empty());
    let attempts = tgcrm_webhooks::queries::attempts(&h.db, &[rows[0].delivery_id.clone()])
        .await
        .unwrap();
    assert!(
        attempts[&rows[0].delivery_id][0]
            .error
            .as_deref()
            .unwrap()
            .contains("SSRF")
    );
}
both!(
    ssrf_at_delivery,
    internal_targets_are_refused_at_delivery_time
);

async fn a_replay_from_a_time_sends_only_later_events_of_the_asked_types(db: TestDb) {
    let h = Harness::start(db, fast_config()).await;
    let (id, _) = h.endpoint("q", &["*"]).await;
    let old = h.open_ticket("Old").await;
    h.receiver.wait_for("q", WAIT, |r| r.len() >= 2).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    let since = chrono::Utc::now();
    let new = h.open_ticket("New").await;
    h.status(&new, Status::InProgress).await;
    h.receiver.wait_for("q", WAIT, |r| r.len() >= 5).await;
    let ctx = tgcrm_store::commands::CommandContext {
        workspace_id: tgcrm_domain::WorkspaceId::parse(crate::harness::WS).unwrap(),
        metadata: tgcrm_store::Metadata::new("token:test", tgcrm_store::Source::Api),
        expected_version: None,
    };
    tgcrm_webhooks::app::replay(
        &h.store,
        h.clock.as_ref(),
        &ctx,
        &id,
        tgcrm_webhooks::endpoint::ReplayFrom::Time { at: since },
        Some(tgcrm_webhooks::endpoint::EventTypes::parse(&["ticket.created".into()]).unwrap()),
    )
    .await
    .unwrap();
    let rows = h
        .wait_rows(&id, WAIT, |r| {
            r.iter()
                .any(|d| d.origin.starts_with("replay:") && d.status == "succeeded")
        })
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let replayed: Vec<_> = h
        .rows(&id)
        .await
        .into_iter()
        .filter(|d| d.origin.starts_with("replay:"))
        .collect();
    assert_eq!(replayed.len(), 1, "{rows:?}");
    let last = h.receiver.received("q").pop().unwrap().json();
    assert_eq!(last["type"], "ticket.created");
    assert_eq!(last["data"]["ticket"]["id"], new.to_string());
    assert_ne!(last["data"]["ticket"]["id"], old.to_string());
}
both!(
    replay_from_time,
    a_replay_from_a_time_sends_only_later_events_of_the_asked_types
);

async fn erasing_a_customer_scrubs_what_webhooks_keep_of_them(db: TestDb) {
    let h = Harness::start(db, fast_config()).await;
    h.receiver
        .script("e", std::iter::repeat_n(Reply::status(500), 4));
    let (id, _) = h
        .endpoint("e", &["ticket.created", "ticket.status_changed"])
        .await;
    let t = h.open_ticket("Private subject").await;
    h.wait_rows(&id, WAIT, |r| r.first().is_some_and(|d| d.status == "dead"))
        .await;
    h.erase_customer().await;
    h.status(&t, Status::InProgress).await;
    let got = h
        .receiver
        .wait_for("e", WAIT, |r| {
            r.iter()
                .any(|x| x.json()["type"] == "ticket.status_changed")
        })
        .await;
    let changed = got
        .iter()
        .find(|x| x.json()["type"] == "ticket.status_changed")
        .unwrap()
        .json();
    assert_eq!(changed["data"]["ticket"]["subject"], "[erased]");
    assert_eq!(changed["data"]["ticket"]["customer"]["name"], "[erased]");
    #[derive(sqlx::FromRow)]
    struct B {
        body: String,
    }
    let bodies: Vec<B> =
        h.db.fetch_all(
            "SELECT body FROM webhook_deliveries WHERE endpoint_id = $1",
            tgcrm_store::args![id.to_string()],
        )
        .await
        .unwrap();
    assert!(bodies.iter().all(|b| !b.body.contains("Private subject")));
    assert!(bodies.iter().all(|b| !b.body.contains("Ivan Petrov")));
}
both!(
    erasure,
    erasing_a_customer_scrubs_what_webhooks_keep_of_them
);
