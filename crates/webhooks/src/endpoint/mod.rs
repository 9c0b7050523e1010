//! The webhook endpoint aggregate: one subscription of an integrator, with its
//! URL, event types, active flag and signing-key history. Every change is an
//! event, so who changed what is on record.

mod aggregate;
mod commands;
mod errors;
mod events;
mod values;

#[cfg(test)]
mod tests;

pub use aggregate::{WebhookEndpoint, decide};
pub use commands::{CreateEndpoint, Exhausted, UpdateEndpoint, WebhookCommand};
pub use errors::WebhookError;
pub use events::{EVENT_VERSION, ReplayFrom, WebhookEndpointEvent};
pub use values::{Description, DisableReason, EndpointId, EventTypes, WebhookUrl};

/// Frozen aggregate type name: stored events are keyed by it.
pub const AGGREGATE_TYPE: &str = "webhook_endpoint";
