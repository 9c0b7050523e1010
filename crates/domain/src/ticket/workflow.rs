//! The status machine (DESIGN.md §5): `closed` is reached only from `resolved`
//! and is final; every other move between statuses is allowed.

use serde::{Deserialize, Serialize};

use crate::values::Status;

use super::errors::TicketError;

/// Why a status changed: by hand, or as a rule's consequence of something else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusChangeCause {
    /// Someone asked for it.
    Manual,
    /// The customer wrote on a resolved or waiting ticket.
    CustomerReplied,
}

/// May a ticket move from `from` to `to`? Moving to the same status is not a
/// transition; callers treat it as "nothing to do".
pub fn check_transition(from: Status, to: Status) -> Result<(), TicketError> {
    match (from, to) {
        (Status::Closed, _) => Err(TicketError::Closed),
        (Status::Resolved, Status::Closed) => Ok(()),
        (current, Status::Closed) => Err(TicketError::CloseRequiresResolved { current }),
        _ => Ok(()),
    }
}

/// The status a customer's message moves a ticket to, if any: a resolved
/// ticket reopens, and a ticket waiting on the customer is theirs to answer no more.
pub fn after_customer_message(current: Status) -> Option<Status> {
    match current {
        Status::Resolved | Status::WaitingOnCustomer => Some(Status::Open),
        _ => None,
    }
}
