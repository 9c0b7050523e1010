//! Routing a batch with few statements: the contexts of the tickets it
//! touches are loaded with one query and written once each, and each
//! workspace's subscriptions are read once. Endpoint events and erasures
//! change what the others read (subscriptions, contexts), so they split the
//! batch: each is applied on its own between the runs of other events.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use tgcrm_projections::bulk;
use tgcrm_store::{StoredEvent, Tx};

use super::{LIVE, Subscription, WebhookRouter, enqueue};
use crate::context::{self, Contexts};
use crate::endpoint;
use crate::event_types::WebhookEventType;
use crate::payload;

pub(super) async fn route(
    router: &WebhookRouter,
    tx: &mut Tx,
    events: &[StoredEvent],
) -> anyhow::Result<()> {
    let mut run = 0;
    for (i, event) in events.iter().enumerate() {
        if event.aggregate_type == endpoint::AGGREGATE_TYPE {
            route_run(tx, &events[run..i]).await?;
            router.endpoint_event(tx, event).await?;
            run = i + 1;
        } else if let Some((_, telegram_user_id)) = tgcrm_store::personal::erased(event) {
            route_run(tx, &events[run..i]).await?;
            context::scrub_customer(tx, &event.workspace_id, telegram_user_id).await?;
            run = i + 1;
        }
    }
    route_run(tx, &events[run..]).await
}

fn is_ticket(event: &StoredEvent) -> bool {
    event.aggregate_type == tgcrm_domain::ticket::AGGREGATE_TYPE
}

/// Events with neither endpoint events nor erasures among them.
async fn route_run(tx: &mut Tx, events: &[StoredEvent]) -> anyhow::Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    // Every ticket event moves its ticket's context, subscribed or not;
    // other subscribable events read the context of the ticket they are about.
    let mut tickets = BTreeSet::new();
    let mut workspaces = BTreeSet::new();
    for e in events {
        let subscribable = WebhookEventType::for_log_event(&e.event_type).is_some();
        if is_ticket(e) {
            tickets.insert(e.aggregate_id.clone());
        } else if subscribable && let Some(id) = payload::about_ticket(e) {
            tickets.insert(id);
        }
        if subscribable {
            workspaces.insert(e.workspace_id.clone());
        }
    }
    let mut contexts = Contexts::load(tx, &Vec::from_iter(tickets)).await?;
    let subscriptions = subscriptions(tx, &Vec::from_iter(workspaces)).await?;
    for e in events {
        if let Some(Ok(event)) = e.ticket_event() {
            contexts.advance(&e.workspace_id, &e.aggregate_id, e.sequence, &event);
        }
        let Some(t) = WebhookEventType::for_log_event(&e.event_type) else {
            continue;
        };
        let subs: Vec<&Subscription> = subscriptions
            .get(&e.workspace_id)
            .into_iter()
            .flatten()
            .filter(|s| s.wants(t))
            .collect();
        if subs.is_empty() {
            continue;
        }
        let about = if is_ticket(e) {
            Some(e.aggregate_id.clone())
        } else {
            payload::about_ticket(e)
        };
        let ticket = about.as_deref().and_then(|id| contexts.get(id));
        let Some(built) = payload::build(tx, e, ticket).await? else {
            continue;
        };
        for s in subs {
            enqueue(tx, &s.endpoint_id, e, &built, LIVE, e.recorded_at).await?;
        }
        metrics::counter!("webhook_deliveries_enqueued_total").increment(1);
    }
    contexts.save(tx).await
}

#[derive(sqlx::FromRow)]
struct SubscriptionRow {
    workspace_id: String,
    endpoint_id: String,
    event_types: Value,
}

/// The active endpoints of `workspaces`, by workspace, in endpoint order.
async fn subscriptions(
    tx: &mut Tx,
    workspaces: &[String],
) -> anyhow::Result<HashMap<String, Vec<Subscription>>> {
    let rows: Vec<SubscriptionRow> = bulk::fetch_in(
        tx,
        "SELECT workspace_id, endpoint_id, event_types FROM webhook_endpoints \
         WHERE active = TRUE AND deleted = FALSE AND workspace_id",
        "ORDER BY endpoint_id",
        workspaces,
    )
    .await?;
    let mut out: HashMap<String, Vec<Subscription>> = HashMap::new();
    for r in rows {
        out.entry(r.workspace_id).or_default().push(Subscription {
            endpoint_id: r.endpoint_id,
            event_types: r.event_types,
        });
    }
    Ok(out)
}
