//! The ticket aggregate: one support conversation with a customer, from opening
//! to closing.

mod aggregate;
mod commands;
mod decide;
mod errors;
mod events;
mod state;
mod workflow;

#[cfg(test)]
mod tests;

pub use commands::{
    AddMessage, Assign, ChangePriority, ChangeStatus, ChangeTags, EditMessage, OpenTicket,
    SendTemplate, SetFields, TicketCommand,
};
pub use decide::decide;
pub use errors::TicketError;
pub use events::{Author, Channel, EVENT_VERSION, MessageVisibility, TicketEvent};
pub use state::{MessageRef, Ticket};
pub use workflow::{StatusChangeCause, check_transition};

/// Frozen aggregate type name: stored events are keyed by it.
pub const AGGREGATE_TYPE: &str = "ticket";
