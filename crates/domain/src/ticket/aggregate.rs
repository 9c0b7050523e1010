//! The cqrs-es `Aggregate` face of the ticket: a thin wrapper around [`decide`]
//! and [`Ticket::apply`], so the crate's test framework and repositories work
//! with it.

use chrono::{DateTime, Utc};

use super::commands::TicketCommand;
use super::decide::decide;
use super::errors::TicketError;
use super::events::TicketEvent;
use super::state::Ticket;

crate::cqrs_aggregate!(
    Ticket,
    super::AGGREGATE_TYPE,
    TicketCommand,
    TicketEvent,
    TicketError
);

impl crate::decider::DomainFact for TicketEvent {
    fn at(&self) -> DateTime<Utc> {
        TicketEvent::at(self)
    }
}

impl crate::decider::Refusal for TicketError {
    fn is_not_found(&self) -> bool {
        matches!(self, TicketError::NotFound)
    }
}

impl crate::decider::Decider for Ticket {
    type Fact = TicketEvent;
    type Cmd = TicketCommand;
    type Refused = TicketError;

    fn decide(
        &self,
        command: TicketCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<TicketEvent>, TicketError> {
        decide(self, command, now)
    }

    fn evolve(&mut self, event: TicketEvent) {
        Ticket::apply(self, event);
    }

    fn workspace(&self) -> Option<&crate::ids::WorkspaceId> {
        self.workspace_id.as_ref()
    }

    fn data_subject(&self) -> Option<String> {
        self.customer
            .as_ref()
            .map(|c| format!("tg:{}", c.telegram_user_id.get()))
    }
}
