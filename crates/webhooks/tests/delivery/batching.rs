//! The router routes a batch as it would route its events one at a time:
//! contexts carried across the batch, subscriptions changed and a customer
//! erased in the middle of it.

use tgcrm_domain::values::Status;
use tgcrm_projections::Projector;
use tgcrm_store::reader::{EventFilter, read_after};
use tgcrm_store::{Position, Tx};
use tgcrm_webhooks::WebhookRouter;

use crate::both;
use crate::harness::{Harness, TestDb, fast_config};

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Delivery {
    delivery_id: String,
    endpoint_id: String,
    webhook_type: String,
    body: String,
}

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Context {
    ticket_id: String,
    customer_telegram_id: Option<i64>,
    state: serde_json::Value,
    sequence: i64,
}

/// What the router wrote, in a fixed order.
async fn written(tx: &mut Tx) -> (Vec<Delivery>, Vec<Context>) {
    let deliveries = tx
        .fetch_all(
            "SELECT delivery_id, endpoint_id, webhook_type, body FROM webhook_deliveries \
             ORDER BY delivery_id",
            vec![],
        )
        .await
        .unwrap();
    let contexts = tx
        .fetch_all(
            "SELECT ticket_id, customer_telegram_id, state, sequence FROM webhook_ticket_context \
             ORDER BY ticket_id",
            vec![],
        )
        .await
        .unwrap();
    (deliveries, contexts)
}

async fn a_batch_routes_as_its_events_one_by_one(db: TestDb) {
    let mut h = Harness::start(db, fast_config()).await;
    h.stop_workers().await;
    let router = WebhookRouter::new();
    let (all, _) = h.endpoint("all", &["*"]).await;
    let a = h.open_ticket("A").await;
    h.message(&a, "a1").await;
    let b = h.open_ticket("B").await;
    h.status(&a, Status::InProgress).await;
    // Subscribed half way through: only later messages reach it.
    let (late, _) = h.endpoint("late", &["message.created"]).await;
    h.message(&b, "b1").await;
    h.erase_customer().await;
    h.message(&a, "a2").await;
    h.status(&b, Status::Resolved).await;
    // The reader holds back events that transactions still open anywhere on
    // the server (other tests) could precede: wait until all are readable.
    let total = tgcrm_store::reader::count_events(&h.db).await.unwrap();
    let events = loop {
        let events = read_after(&h.db, Position::START, 10_000, &EventFilter::default())
            .await
            .unwrap();
        if i64::try_from(events.len()).unwrap() == total {
            break events;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };

    let schema = router.schema(h.db.backend());
    let mut tx = h.db.begin().await.unwrap();
    for s in &schema {
        tx.execute(s, vec![]).await.unwrap();
    }
    router.apply_batch(&mut tx, &events).await.unwrap();
    let batched = written(&mut tx).await;
    drop(tx);

    let mut tx = h.db.begin().await.unwrap();
    for s in &schema {
        tx.execute(s, vec![]).await.unwrap();
    }
    for e in &events {
        router.apply(&mut tx, e).await.unwrap();
    }
    let one_by_one = written(&mut tx).await;
    drop(tx);

    assert_eq!(batched, one_by_one);
    let (deliveries, contexts) = batched;
    let to = |e: &tgcrm_webhooks::endpoint::EndpointId| {
        deliveries
            .iter()
            .filter(|d| d.endpoint_id == e.to_string())
            .count()
    };
    // all: 2 openings, 5 messages (the first ones, a1, b1, a2), 2 status changes.
    assert_eq!(to(&all), 9, "{deliveries:#?}");
    // late: b1 and a2.
    assert_eq!(to(&late), 2, "{deliveries:#?}");
    assert_eq!(contexts.len(), 2);
    // Erased in the middle: what came after knows the customer no more.
    let last = deliveries
        .iter()
        .find(|d| d.endpoint_id == late.to_string() && d.body.contains(&a.to_string()))
        .unwrap();
    assert!(last.body.contains("message.created"), "{}", last.body);
    assert!(last.body.contains("[erased]"), "{}", last.body);
    assert!(!last.body.contains("Ivan Petrov"), "{}", last.body);
}
both!(batching, a_batch_routes_as_its_events_one_by_one);
