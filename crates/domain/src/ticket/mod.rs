//! The ticket aggregate: one support conversation with a customer, from opening
//! to closing.

mod aggregate;
mod commands;
mod decide;
mod errors;
mod events;
mod service_level;
mod state;
mod workflow;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_auto_assign;

pub use commands::{
    AddMessage, ApplySla, Assign, AutoAssign, ChangePriority, ChangeStatus, ChangeTags,
    EditMessage, Escalate, OpenTicket, RecordSla, SendTemplate, SetFields, SlaMoment,
    TicketCommand,
};
pub use decide::decide;
pub use errors::TicketError;
pub use events::{Author, Channel, EVENT_VERSION, MessageVisibility, TicketEvent};
pub use state::{MessageRef, Ticket};
pub use workflow::{StatusChangeCause, check_transition};

/// Frozen aggregate type name: stored events are keyed by it.
pub const AGGREGATE_TYPE: &str = "ticket";
