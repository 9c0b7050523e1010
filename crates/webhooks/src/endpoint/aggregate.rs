//! The endpoint's state, the pure decision, and the cqrs-es face around them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tgcrm_domain::WorkspaceId;

use super::commands::{UpdateEndpoint, WebhookCommand};
use super::errors::WebhookError;
use super::events::WebhookEndpointEvent;
use super::values::{Description, DisableReason, EndpointId, EventTypes, WebhookUrl};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: Option<EndpointId>,
    pub workspace_id: Option<WorkspaceId>,
    pub url: Option<WebhookUrl>,
    pub event_types: Option<EventTypes>,
    pub description: Option<Description>,
    pub active: bool,
    pub disabled_reason: Option<DisableReason>,
    pub disabled_detail: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub deleted: bool,
    pub key_id: Option<String>,
    pub key_fingerprint: Option<String>,
    pub previous_key_id: Option<String>,
    pub previous_key_expires_at: Option<DateTime<Utc>>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    pub exhausted_deliveries: u64,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl WebhookEndpoint {
    /// Created and not deleted.
    pub fn exists(&self) -> bool {
        self.id.is_some() && !self.deleted
    }

    pub fn apply(&mut self, event: WebhookEndpointEvent) {
        self.updated_at = Some(event.at());
        match event {
            WebhookEndpointEvent::Created {
                endpoint_id,
                workspace_id,
                url,
                event_types,
                description,
                active,
                key_id,
                key_fingerprint,
                at,
            } => {
                self.id = Some(endpoint_id);
                self.workspace_id = Some(workspace_id);
                self.url = Some(url);
                self.event_types = Some(event_types);
                self.description = description;
                self.active = active;
                if !active {
                    self.disabled_reason = Some(DisableReason::Manual);
                    self.disabled_at = Some(at);
                }
                self.key_id = Some(key_id);
                self.key_fingerprint = Some(key_fingerprint);
                self.created_at = Some(at);
            }
            WebhookEndpointEvent::Updated {
                url,
                event_types,
                description,
                ..
            } => {
                if let Some(u) = url {
                    self.url = Some(u);
                }
                if let Some(t) = event_types {
                    self.event_types = Some(t);
                }
                if let Some(d) = description {
                    self.description = (!d.as_str().is_empty()).then_some(d);
                }
            }
            WebhookEndpointEvent::Enabled { .. } => {
                self.active = true;
                self.disabled_reason = None;
                self.disabled_detail = None;
                self.disabled_at = None;
            }
            WebhookEndpointEvent::Disabled { reason, detail, at } => {
                self.active = false;
                self.disabled_reason = Some(reason);
                self.disabled_detail = detail;
                self.disabled_at = Some(at);
            }
            WebhookEndpointEvent::SecretRotated {
                key_id,
                key_fingerprint,
                previous_key_id,
                previous_key_expires_at,
                at,
            } => {
                self.previous_key_id = Some(previous_key_id);
                self.previous_key_expires_at = Some(previous_key_expires_at);
                self.key_id = Some(key_id);
                self.key_fingerprint = Some(key_fingerprint);
                self.secret_rotated_at = Some(at);
            }
            WebhookEndpointEvent::Deleted { .. } => {
                self.deleted = true;
                self.active = false;
            }
            WebhookEndpointEvent::Exhausted { .. } => self.exhausted_deliveries += 1,
            WebhookEndpointEvent::RedeliveryRequested { .. }
            | WebhookEndpointEvent::ReplayRequested { .. } => {}
        }
    }
}

/// Decide what `command` means for `endpoint` at `now`. An empty list means
/// nothing changes.
pub fn decide(
    endpoint: &WebhookEndpoint,
    command: WebhookCommand,
    now: DateTime<Utc>,
) -> Result<Vec<WebhookEndpointEvent>, WebhookError> {
    if let WebhookCommand::Create(c) = command {
        if endpoint.id.is_some() {
            // The same id again: the same request again.
            return Ok(vec![]);
        }
        return Ok(vec![WebhookEndpointEvent::Created {
            endpoint_id: c.endpoint_id,
            workspace_id: c.workspace_id,
            url: c.url,
            event_types: c.event_types,
            description: c.description.filter(|d| !d.as_str().is_empty()),
            active: c.active,
            key_id: c.key_id,
            key_fingerprint: c.key_fingerprint,
            at: now,
        }]);
    }
    if endpoint.deleted && matches!(command, WebhookCommand::Delete) {
        return Ok(vec![]);
    }
    if !endpoint.exists() {
        return Err(WebhookError::NotFound);
    }
    Ok(match command {
        WebhookCommand::Create(_) => vec![],
        WebhookCommand::Update(u) => update(endpoint, u, now)?,
        WebhookCommand::Disable { reason, detail } => {
            if !endpoint.active {
                vec![]
            } else {
                vec![WebhookEndpointEvent::Disabled {
                    reason,
                    detail,
                    at: now,
                }]
            }
        }
        WebhookCommand::RotateSecret {
            key_id,
            key_fingerprint,
            previous_valid_until,
        } => {
            let previous_key_id = endpoint.key_id.clone().unwrap_or_default();
            vec![WebhookEndpointEvent::SecretRotated {
                key_id,
                key_fingerprint,
                previous_key_id,
                previous_key_expires_at: previous_valid_until.max(now),
                at: now,
            }]
        }
        WebhookCommand::Delete => vec![WebhookEndpointEvent::Deleted { at: now }],
        WebhookCommand::RecordExhausted(e) => vec![WebhookEndpointEvent::Exhausted {
            delivery_id: e.delivery_id,
            event_id: e.event_id,
            webhook_type: e.webhook_type,
            attempts: e.attempts,
            last_status_code: e.last_status_code,
            last_error: e.last_error,
            at: now,
        }],
        WebhookCommand::RequestRedelivery { delivery_id } => {
            vec![WebhookEndpointEvent::RedeliveryRequested {
                delivery_id,
                at: now,
            }]
        }
        WebhookCommand::RequestReplay {
            replay_id,
            from,
            event_types,
        } => vec![WebhookEndpointEvent::ReplayRequested {
            replay_id,
            from,
            event_types,
            at: now,
        }],
    })
}

fn update(
    endpoint: &WebhookEndpoint,
    u: UpdateEndpoint,
    now: DateTime<Utc>,
) -> Result<Vec<WebhookEndpointEvent>, WebhookError> {
    if u == UpdateEndpoint::default() {
        return Err(WebhookError::NothingToChange(
            "give url, event_types, description or active",
        ));
    }
    let url = u.url.filter(|n| Some(n) != endpoint.url.as_ref());
    let event_types = u
        .event_types
        .filter(|n| Some(n) != endpoint.event_types.as_ref());
    let description = match u.description {
        None => None,
        Some(new) => {
            let new = new.filter(|d| !d.as_str().is_empty());
            if new == endpoint.description {
                None
            } else {
                Some(new.unwrap_or_else(Description::empty))
            }
        }
    };
    let mut events = Vec::new();
    if url.is_some() || event_types.is_some() || description.is_some() {
        events.push(WebhookEndpointEvent::Updated {
            url,
            event_types,
            description,
            at: now,
        });
    }
    match u.active {
        Some(true) if !endpoint.active => events.push(WebhookEndpointEvent::Enabled { at: now }),
        Some(false) if endpoint.active => events.push(WebhookEndpointEvent::Disabled {
            reason: DisableReason::Manual,
            detail: None,
            at: now,
        }),
        _ => {}
    }
    Ok(events)
}

tgcrm_domain::cqrs_aggregate!(
    WebhookEndpoint,
    super::AGGREGATE_TYPE,
    WebhookCommand,
    WebhookEndpointEvent,
    WebhookError
);

impl tgcrm_domain::Decider for WebhookEndpoint {
    type Fact = WebhookEndpointEvent;
    type Cmd = WebhookCommand;
    type Refused = WebhookError;

    fn decide(
        &self,
        command: WebhookCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<WebhookEndpointEvent>, WebhookError> {
        decide(self, command, now)
    }

    fn evolve(&mut self, event: WebhookEndpointEvent) {
        WebhookEndpoint::apply(self, event);
    }

    fn workspace(&self) -> Option<&WorkspaceId> {
        self.workspace_id.as_ref()
    }
}
