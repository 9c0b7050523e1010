//! What can be asked of a webhook endpoint. Every field is already parsed.

use chrono::{DateTime, Utc};
use tgcrm_domain::WorkspaceId;

use super::events::ReplayFrom;
use super::values::{Description, DisableReason, EndpointId, EventTypes, WebhookUrl};

#[derive(Debug, Clone, PartialEq)]
pub enum WebhookCommand {
    Create(CreateEndpoint),
    Update(UpdateEndpoint),
    /// Switched off by the delivery worker (410, failing too long).
    Disable {
        reason: DisableReason,
        detail: Option<String>,
    },
    RotateSecret {
        key_id: String,
        key_fingerprint: String,
        previous_valid_until: DateTime<Utc>,
    },
    Delete,
    RecordExhausted(Exhausted),
    RequestRedelivery {
        delivery_id: String,
    },
    RequestReplay {
        replay_id: String,
        from: ReplayFrom,
        event_types: Option<EventTypes>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateEndpoint {
    pub endpoint_id: EndpointId,
    pub workspace_id: WorkspaceId,
    pub url: WebhookUrl,
    pub event_types: EventTypes,
    pub description: Option<Description>,
    pub active: bool,
    pub key_id: String,
    pub key_fingerprint: String,
}

/// Absent fields stay as they are.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdateEndpoint {
    pub url: Option<WebhookUrl>,
    pub event_types: Option<EventTypes>,
    /// `Some(None)` clears the description.
    pub description: Option<Option<Description>>,
    pub active: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exhausted {
    pub delivery_id: String,
    pub event_id: String,
    pub webhook_type: String,
    pub attempts: i64,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
}
