//! Request and response bodies of `/v1/webhooks`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tgcrm_webhooks::endpoint::WebhookEndpoint;
use tgcrm_webhooks::queries::{AttemptRow, DeliveryRow, EndpointRow, Health};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWebhook {
    /// Where deliveries are POSTed: an http(s) URL (no credentials in it).
    pub url: String,
    /// `ticket.created`, `ticket.status_changed`, `ticket.assigned`,
    /// `ticket.priority_changed`, `message.created`, `sla.warning`,
    /// `sla.breached`, `ticket.escalated`, or `*` for all.
    pub event_types: Vec<String>,
    /// Up to 500 characters.
    pub description: Option<String>,
    /// Default true.
    pub active: Option<bool>,
}

/// Absent fields stay as they are; `description: null` or `""` clears it.
#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateWebhook {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// false switches deliveries off; true switches them on again (also after
    /// an automatic disable).
    pub active: Option<bool>,
}

fn double_option<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RotateWebhookSecret {
    /// How long the previous secret keeps signing, in seconds (default 24 h,
    /// at most 7 days). Meanwhile deliveries carry both signatures.
    pub grace_seconds: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplayWebhook {
    /// Replay events after this log position (an `X-Event-Position` token).
    pub from_position: Option<String>,
    /// Or: replay events recorded at or after this time (RFC 3339).
    pub from_time: Option<DateTime<Utc>>,
    /// Only these event types (within the endpoint's subscription).
    pub event_types: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub event_types: Vec<String>,
    pub description: Option<String>,
    pub active: bool,
    /// `manual`, `gone` (the receiver answered 410) or `failing` (every attempt
    /// failed for longer than the configured period).
    pub disabled_reason: Option<String>,
    pub disabled_detail: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    /// Until when the secret before the last rotation still signs.
    pub previous_secret_expires_at: Option<DateTime<Utc>>,
    /// Since when every attempt has failed (absent while healthy).
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// The endpoint's version; send it back in `If-Match`.
    pub version: i64,
}

impl WebhookView {
    pub fn from_state(s: &WebhookEndpoint, version: i64, health: &Health) -> Self {
        Self {
            id: s.id.map(|i| i.to_string()).unwrap_or_default(),
            url: s
                .url
                .as_ref()
                .map(|u| u.as_str().to_owned())
                .unwrap_or_default(),
            event_types: s
                .event_types
                .as_ref()
                .map(|t| t.to_strings())
                .unwrap_or_default(),
            description: s.description.as_ref().map(|d| d.as_str().to_owned()),
            active: s.active,
            disabled_reason: s.disabled_reason.map(|r| r.as_str().to_owned()),
            disabled_detail: s.disabled_detail.clone(),
            disabled_at: s.disabled_at,
            secret_rotated_at: s.secret_rotated_at,
            previous_secret_expires_at: s.previous_key_expires_at,
            failing_since: health.failing_since,
            last_success_at: health.last_success_at,
            last_failure_at: health.last_failure_at,
            created_at: s.created_at,
            updated_at: s.updated_at,
            version,
        }
    }
}

impl From<EndpointRow> for WebhookView {
    fn from(r: EndpointRow) -> Self {
        Self {
            event_types: r.event_types(),
            id: r.endpoint_id,
            url: r.url,
            description: r.description,
            active: r.active,
            disabled_reason: r.disabled_reason,
            disabled_detail: r.disabled_detail,
            disabled_at: r.disabled_at,
            secret_rotated_at: r.secret_rotated_at,
            previous_secret_expires_at: None,
            failing_since: r.failing_since,
            last_success_at: r.last_success_at,
            last_failure_at: r.last_failure_at,
            created_at: Some(r.created_at),
            updated_at: Some(r.updated_at),
            version: r.version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedWebhook {
    pub webhook: WebhookView,
    /// The signing secret (`whsec_…`), shown this once. Verify deliveries with
    /// it as the Standard Webhooks specification describes.
    pub secret: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookPageView {
    pub items: Vec<WebhookView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    pub attempt: i64,
    pub attempted_at: DateTime<Utc>,
    /// The receiver's HTTP status, absent when no answer came.
    pub status_code: Option<i64>,
    pub latency_ms: i64,
    pub error: Option<String>,
    /// The first KiB of the receiver's answer.
    pub response_excerpt: Option<String>,
    pub succeeded: bool,
}

impl From<AttemptRow> for AttemptView {
    fn from(a: AttemptRow) -> Self {
        Self {
            attempt: a.attempt,
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            error: a.error,
            response_excerpt: a.response_excerpt,
            succeeded: a.succeeded,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    /// Also the `webhook-id` header of every attempt.
    pub id: String,
    pub webhook_id: String,
    /// The webhook event type, e.g. `message.created`.
    pub event_type: String,
    /// The log event it carries, and its position.
    pub event_id: String,
    pub event_position: String,
    pub log_event_type: String,
    /// The ticket (or other stream) whose deliveries are kept in order.
    pub ordering_key: String,
    /// `live`, or `replay:<id>`.
    pub origin: String,
    /// `pending`, `succeeded`, `dead` or `cancelled`.
    pub status: String,
    pub attempt_count: i64,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub dead_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub succeeded_at: Option<DateTime<Utc>>,
    pub dead_at: Option<DateTime<Utc>>,
    pub attempts: Vec<AttemptView>,
}

impl DeliveryView {
    pub fn new(d: DeliveryRow, attempts: Vec<AttemptRow>) -> Self {
        Self {
            id: d.delivery_id,
            webhook_id: d.endpoint_id,
            event_type: d.webhook_type,
            event_id: d.event_id,
            event_position: d.event_position,
            log_event_type: d.log_event_type,
            ordering_key: d.ordering_key,
            origin: d.origin,
            status: d.status,
            attempt_count: d.attempt_count,
            next_attempt_at: d.next_attempt_at,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            dead_reason: d.dead_reason,
            created_at: d.created_at,
            succeeded_at: d.succeeded_at,
            dead_at: d.dead_at,
            attempts: attempts.into_iter().map(Into::into).collect(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryPageView {
    pub items: Vec<DeliveryView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RedeliveryAccepted {
    pub delivery_id: String,
    pub webhook_id: String,
    /// Always `queued`: the worker sends it shortly.
    pub status: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReplayAccepted {
    pub replay_id: String,
    pub webhook_id: String,
    pub from_position: Option<String>,
    pub from_time: Option<DateTime<Utc>>,
    /// Always `queued`: deliveries are enqueued in the background.
    pub status: String,
}
