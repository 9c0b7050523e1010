//! Ticket commands: the generic command handler applied to the ticket aggregate.

use tgcrm_domain::ticket::{Ticket, TicketCommand, TicketError};
use tgcrm_domain::{Clock, TicketId};

pub use crate::commands::{CommandContext, MAX_ATTEMPTS, SNAPSHOT_EVERY};
use crate::notify::EventStore;

pub type CommandOutcome = crate::commands::CommandOutcome<Ticket>;
pub type CommandError = crate::commands::CommandError<TicketError>;

/// Decide `command` on ticket `id` and store what it decided.
pub async fn execute(
    store: &EventStore,
    clock: &dyn Clock,
    id: &TicketId,
    ctx: &CommandContext,
    command: TicketCommand,
) -> Result<CommandOutcome, CommandError> {
    crate::commands::execute::<Ticket>(store, clock, &id.to_string(), ctx, command).await
}
