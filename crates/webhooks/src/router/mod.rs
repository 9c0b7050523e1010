//! The first half of the delivery reactor: the router reads the log in order
//! and turns each subscribable event into one delivery row per endpoint whose
//! subscription (as it stood at that point of the log) matches. It also keeps
//! `webhook_endpoints` and acts on redelivery and replay requests.
//!
//! It writes only to the database, so it runs like a projector: a batch of
//! events, its table writes and its checkpoint commit in one transaction, and
//! enqueueing is exactly-once. The second half, the [`crate::worker`], does
//! the HTTP calls, at least once. A batch is routed with few statements
//! ([`batch`]).

mod batch;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tgcrm_projections::Projector;
use tgcrm_store::{Arg, Backend, StoredEvent, Tx, args};

use crate::context;
use crate::endpoint::{self, ReplayFrom, WebhookEndpointEvent};
use crate::event_types::WebhookEventType;
use crate::payload;

pub const NAME: &str = "webhook_router";

/// Origin of the deliveries the live log produces (replays have `replay:<id>`).
pub const LIVE: &str = "live";

/// Namespace of delivery ids: UUID v5 of (endpoint, event, origin), so a
/// delivery is enqueued once however often its event is read.
const DELIVERY_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x3b0f_5d4e_9c1a_4c7e_8e2f_6a1d_77c0_b912);

pub fn delivery_id(endpoint_id: &str, event_id: &str, origin: &str) -> String {
    uuid::Uuid::new_v5(
        &DELIVERY_NAMESPACE,
        format!("{endpoint_id}/{event_id}/{origin}").as_bytes(),
    )
    .to_string()
}

#[derive(Debug, Default)]
pub struct WebhookRouter;

impl WebhookRouter {
    pub fn new() -> Self {
        Self
    }
}

/// A JSON value as a bind parameter of either backend.
pub(crate) fn json_arg(backend: Backend, v: Value) -> Arg {
    match backend {
        Backend::Postgres => Arg::Json(v),
        Backend::Sqlite => Arg::Text(v.to_string()),
    }
}

/// `$n` cast to jsonb on Postgres (text parameters compare as text on SQLite).
pub(crate) fn json_param(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Postgres => format!("${n}::jsonb"),
        Backend::Sqlite => format!("${n}"),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct Subscription {
    pub endpoint_id: String,
    pub event_types: Value,
}

impl Subscription {
    pub fn wants(&self, t: WebhookEventType) -> bool {
        let types: Vec<String> = match &self.event_types {
            Value::String(s) => serde_json::from_str(s).unwrap_or_default(),
            v => serde_json::from_value(v.clone()).unwrap_or_default(),
        };
        types
            .iter()
            .any(|x| x == "*" || WebhookEventType::parse_filter(x) == Some(t))
    }
}

/// Insert one delivery; nothing when it is already there.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn enqueue(
    tx: &mut Tx,
    endpoint_id: &str,
    event: &StoredEvent,
    built: &payload::Built,
    origin: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let id = delivery_id(endpoint_id, &event.event_id, origin);
    let n = tx
        .execute(
            "INSERT INTO webhook_deliveries (delivery_id, endpoint_id, workspace_id, event_id, event_position, \
             log_event_type, webhook_type, ordering_key, origin, body, status, attempt_count, cycle_attempts, \
             next_attempt_at, redelivery_seq, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, 0, $11, 0, $11, $11) \
             ON CONFLICT (endpoint_id, event_id, origin) DO NOTHING",
            args![
                id,
                endpoint_id,
                event.workspace_id.as_str(),
                event.event_id.as_str(),
                event.position.token(),
                event.event_type.as_str(),
                built.webhook_type.as_str(),
                payload::ordering_key(event),
                origin,
                built.body.as_str(),
                at,
            ],
        )
        .await?;
    Ok(n > 0)
}

#[async_trait]
impl Projector for WebhookRouter {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> i64 {
        1
    }

    /// Only the ticket contexts are its own. Endpoints, deliveries and
    /// replays come from a migration and outlive a rebuild: a rebuild reads
    /// the log again and finds every delivery already enqueued.
    fn tables(&self) -> &'static [&'static str] {
        &[context::CONTEXT_TABLE]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        context::CONTEXT_SCHEMA
            .iter()
            .map(|s| tgcrm_projections::schema::ddl(backend, s))
            .collect()
    }

    async fn apply(&self, tx: &mut Tx, event: &StoredEvent) -> anyhow::Result<()> {
        self.apply_batch(tx, std::slice::from_ref(event)).await
    }

    async fn apply_batch(&self, tx: &mut Tx, events: &[StoredEvent]) -> anyhow::Result<()> {
        batch::route(self, tx, events).await
    }
}

impl WebhookRouter {
    /// An endpoint event: keeps `webhook_endpoints` and acts on redelivery
    /// and replay requests.
    async fn endpoint_event(&self, tx: &mut Tx, stored: &StoredEvent) -> anyhow::Result<()> {
        let Some(decoded) = stored.decode::<endpoint::WebhookEndpoint>() else {
            return Ok(());
        };
        let event = match decoded {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(event_id = %stored.event_id, error = %e, "webhook endpoint event does not decode; skipped");
                return Ok(());
            }
        };
        let id = stored.aggregate_id.as_str();
        let seq = stored.sequence;
        let backend = tx.backend();
        let at = event.at();
        // Every change is guarded by the row's version: applying twice changes nothing.
        match event {
            WebhookEndpointEvent::Created {
                workspace_id,
                url,
                event_types,
                description,
                active,
                ..
            } => {
                let sql = format!(
                    "INSERT INTO webhook_endpoints (endpoint_id, workspace_id, url, event_types, description, active, \
                     deleted, disabled_reason, disabled_at, created_at, updated_at, version) \
                     VALUES ($1, $2, $3, {}, $5, $6, $7, $8, $9, $10, $10, $11) ON CONFLICT (endpoint_id) DO NOTHING",
                    json_param(backend, 4)
                );
                let mut a = args![id, workspace_id.as_str(), url.as_str()];
                a.push(json_arg(backend, serde_json::to_value(&event_types)?));
                a.extend(args![
                    description.map(|d| d.as_str().to_owned()),
                    active,
                    false,
                    (!active).then(|| "manual".to_owned()),
                    (!active).then_some(at),
                    at,
                    seq
                ]);
                tx.execute(&sql, a).await?;
            }
            WebhookEndpointEvent::Updated {
                url,
                event_types,
                description,
                ..
            } => {
                if let Some(u) = url {
                    tx.execute(
                        "UPDATE webhook_endpoints SET url = $2 WHERE endpoint_id = $1 AND version < $3",
                        args![id, u.as_str(), seq],
                    )
                    .await?;
                }
                if let Some(t) = event_types {
                    let sql = format!(
                        "UPDATE webhook_endpoints SET event_types = {} WHERE endpoint_id = $1 AND version < $3",
                        json_param(backend, 2)
                    );
                    tx.execute(
                        &sql,
                        vec![
                            id.into(),
                            json_arg(backend, serde_json::to_value(&t)?),
                            seq.into(),
                        ],
                    )
                    .await?;
                }
                if let Some(d) = description {
                    let d = (!d.as_str().is_empty()).then(|| d.as_str().to_owned());
                    tx.execute(
                        "UPDATE webhook_endpoints SET description = $2 WHERE endpoint_id = $1 AND version < $3",
                        args![id, d, seq],
                    )
                    .await?;
                }
            }
            WebhookEndpointEvent::Enabled { .. } => {
                tx.execute(
                    "UPDATE webhook_endpoints SET active = $2, disabled_reason = NULL, disabled_detail = NULL, \
                     disabled_at = NULL, failing_since = NULL WHERE endpoint_id = $1 AND version < $3",
                    args![id, true, seq],
                )
                .await?;
            }
            WebhookEndpointEvent::Disabled { reason, detail, .. } => {
                tx.execute(
                    "UPDATE webhook_endpoints SET active = $2, disabled_reason = $3, disabled_detail = $4, \
                     disabled_at = $5 WHERE endpoint_id = $1 AND version < $6",
                    args![id, false, reason.as_str(), detail, at, seq],
                )
                .await?;
            }
            WebhookEndpointEvent::SecretRotated { .. } => {
                tx.execute(
                    "UPDATE webhook_endpoints SET secret_rotated_at = $2 WHERE endpoint_id = $1 AND version < $3",
                    args![id, at, seq],
                )
                .await?;
            }
            WebhookEndpointEvent::Deleted { .. } => {
                // Deliveries before the endpoint row: the worker locks them in
                // that order too, so the two never deadlock.
                tx.execute(
                    "UPDATE webhook_deliveries SET status = 'cancelled', updated_at = $2 \
                     WHERE endpoint_id = $1 AND status = 'pending'",
                    args![id, at],
                )
                .await?;
                tx.execute(
                    "UPDATE webhook_endpoints SET active = $2, deleted = $3 WHERE endpoint_id = $1 AND version < $4",
                    args![id, false, true, seq],
                )
                .await?;
                tx.execute(
                    "UPDATE webhook_replays SET status = 'cancelled', finished_at = $2 \
                     WHERE endpoint_id = $1 AND status = 'running'",
                    args![id, at],
                )
                .await?;
            }
            WebhookEndpointEvent::Exhausted { .. } => {}
            WebhookEndpointEvent::RedeliveryRequested { delivery_id, .. } => {
                // The delivery starts over: same webhook-id and body, a fresh
                // retry schedule, due at once.
                tx.execute(
                    "UPDATE webhook_deliveries SET status = 'pending', cycle_attempts = 0, next_attempt_at = $3, \
                     dead_at = NULL, dead_reason = NULL, redelivery_seq = $4, updated_at = $3 \
                     WHERE delivery_id = $1 AND endpoint_id = $2 AND redelivery_seq < $4",
                    args![delivery_id, id, stored.recorded_at, seq],
                )
                .await?;
            }
            WebhookEndpointEvent::ReplayRequested {
                replay_id,
                from,
                event_types,
                ..
            } => {
                let (cursor, from_time) = match from {
                    ReplayFrom::Position {
                        transaction_id,
                        position,
                    } => (tgcrm_store::Position::new(transaction_id, position), None),
                    ReplayFrom::Time { at } => (tgcrm_store::Position::START, Some(at)),
                };
                let types = match event_types {
                    Some(t) => json_arg(backend, serde_json::to_value(&t)?),
                    None => Arg::OptText(None),
                };
                let sql = format!(
                    "INSERT INTO webhook_replays (replay_id, endpoint_id, workspace_id, from_time, event_types, \
                     cursor_transaction, cursor_position, until_transaction, until_position, status, enqueued, requested_at) \
                     VALUES ($1, $2, $3, $4, {}, $6, $7, $8, $9, 'running', 0, $10) ON CONFLICT (replay_id) DO NOTHING",
                    json_param(backend, 5)
                );
                let mut a = args![replay_id, id, stored.workspace_id.as_str(), from_time];
                a.push(types);
                a.extend(args![
                    cursor.transaction_id,
                    cursor.position,
                    stored.position.transaction_id,
                    stored.position.position,
                    at
                ]);
                tx.execute(&sql, a).await?;
            }
        }
        tx.execute(
            "UPDATE webhook_endpoints SET version = $2, updated_at = $3 WHERE endpoint_id = $1 AND version < $2",
            args![id, seq, at],
        )
        .await?;
        Ok(())
    }
}
