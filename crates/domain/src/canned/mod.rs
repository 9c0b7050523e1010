//! Canned responses: named, categorised reply texts with variables, sent to a
//! ticket as an agent's public reply. Names are unique per workspace (see
//! [`crate::name_claim`]).

mod aggregate;
mod commands;
mod errors;
mod events;
mod state;

#[cfg(test)]
mod tests;

pub use commands::{CannedCommand, CreateCanned, UpdateCanned};
pub use errors::CannedError;
pub use events::{CannedEvent, EVENT_VERSION};
pub use state::CannedResponse;

/// Frozen aggregate type name.
pub const AGGREGATE_TYPE: &str = "canned_response";
