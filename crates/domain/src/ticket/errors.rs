//! Why a ticket refused a command. Each refusal is a reason a client can act on.

use crate::values::Status;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("the ticket does not exist")]
    NotFound,
    #[error(
        "the ticket is closed; closed tickets are final (open a new ticket that follows up on it)"
    )]
    Closed,
    #[error("a ticket can be closed only once it is resolved (it is {current})")]
    CloseRequiresResolved { current: Status },
    #[error("only a closed ticket can be archived (it is {current})")]
    ArchiveRequiresClosed { current: Status },
    #[error("the message does not exist on this ticket")]
    MessageNotFound,
    #[error("only the author of a message can edit it")]
    NotMessageAuthor,
    #[error("the ticket is not assigned")]
    NotAssigned,
    #[error("a ticket has at most {max} tags")]
    TooManyTags { max: usize },
    #[error("a ticket has at most {max} custom fields")]
    TooManyFields { max: usize },
    #[error("nothing to change: {0}")]
    NothingToChange(&'static str),
}
