//! What happened to a webhook endpoint. Names and shapes are frozen once
//! stored. No event carries a signing secret: only a key id and a fingerprint
//! (see [`crate::app`] for where secrets live and why).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tgcrm_domain::WorkspaceId;

use super::values::{Description, DisableReason, EndpointId, EventTypes, WebhookUrl};

/// Schema version of every endpoint event payload written today.
pub const EVENT_VERSION: &str = "1.0";

/// Where a replay starts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayFrom {
    /// After this log position (an `X-Event-Position` token).
    Position { transaction_id: i64, position: i64 },
    /// Events recorded at or after this time.
    Time { at: DateTime<Utc> },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum WebhookEndpointEvent {
    #[serde(rename = "WebhookEndpointCreated")]
    Created {
        endpoint_id: EndpointId,
        workspace_id: WorkspaceId,
        url: WebhookUrl,
        event_types: EventTypes,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<Description>,
        active: bool,
        /// Which signing key is current; the key itself is not in the log.
        key_id: String,
        key_fingerprint: String,
        at: DateTime<Utc>,
    },
    /// Only the changed fields are present. An empty `description` clears it.
    #[serde(rename = "WebhookEndpointUpdated")]
    Updated {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<WebhookUrl>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event_types: Option<EventTypes>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<Description>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "WebhookEndpointEnabled")]
    Enabled { at: DateTime<Utc> },
    #[serde(rename = "WebhookEndpointDisabled")]
    Disabled {
        reason: DisableReason,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        detail: Option<String>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "WebhookSecretRotated")]
    SecretRotated {
        key_id: String,
        key_fingerprint: String,
        previous_key_id: String,
        /// Until then deliveries carry signatures by both keys.
        previous_key_expires_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "WebhookEndpointDeleted")]
    Deleted { at: DateTime<Utc> },
    /// A delivery failed its last attempt and went to the dead letters.
    #[serde(rename = "WebhookExhausted")]
    Exhausted {
        delivery_id: String,
        /// The log event the delivery was about.
        event_id: String,
        webhook_type: String,
        attempts: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_status_code: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        last_error: Option<String>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "WebhookRedeliveryRequested")]
    RedeliveryRequested {
        delivery_id: String,
        at: DateTime<Utc>,
    },
    #[serde(rename = "WebhookReplayRequested")]
    ReplayRequested {
        replay_id: String,
        from: ReplayFrom,
        /// Only these types (within the endpoint's subscription); all when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        event_types: Option<EventTypes>,
        at: DateTime<Utc>,
    },
}

impl WebhookEndpointEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Created { .. } => "WebhookEndpointCreated",
            Self::Updated { .. } => "WebhookEndpointUpdated",
            Self::Enabled { .. } => "WebhookEndpointEnabled",
            Self::Disabled { .. } => "WebhookEndpointDisabled",
            Self::SecretRotated { .. } => "WebhookSecretRotated",
            Self::Deleted { .. } => "WebhookEndpointDeleted",
            Self::Exhausted { .. } => "WebhookExhausted",
            Self::RedeliveryRequested { .. } => "WebhookRedeliveryRequested",
            Self::ReplayRequested { .. } => "WebhookReplayRequested",
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Created { at, .. }
            | Self::Updated { at, .. }
            | Self::Enabled { at }
            | Self::Disabled { at, .. }
            | Self::SecretRotated { at, .. }
            | Self::Deleted { at }
            | Self::Exhausted { at, .. }
            | Self::RedeliveryRequested { at, .. }
            | Self::ReplayRequested { at, .. } => *at,
        }
    }
}

impl cqrs_es::DomainEvent for WebhookEndpointEvent {
    fn event_type(&self) -> String {
        self.type_name().to_owned()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_owned()
    }
}

impl tgcrm_domain::DomainFact for WebhookEndpointEvent {
    fn at(&self) -> DateTime<Utc> {
        WebhookEndpointEvent::at(self)
    }
}
