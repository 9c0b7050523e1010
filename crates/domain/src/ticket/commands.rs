//! What can be asked of a ticket. Every field is already parsed; what a decision
//! needs is put into the command before it is decided.

use std::collections::BTreeSet;

use crate::ids::{AgentId, MessageId, TeamId, TicketId, WorkspaceId};
use crate::values::{
    Attachment, Customer, FieldKey, Fields, MessageText, Note, Priority, Status, Subject, Tag,
};

use super::events::{Author, Channel, MessageVisibility};

#[derive(Debug, Clone, PartialEq)]
pub enum TicketCommand {
    Open(OpenTicket),
    AddMessage(AddMessage),
    /// A message written from a canned response or template: decided like
    /// `AddMessage`, and the event records which one (and which version).
    SendTemplate(SendTemplate),
    EditMessage(EditMessage),
    ChangeStatus(ChangeStatus),
    ChangePriority(ChangePriority),
    Assign(Assign),
    Unassign {
        note: Option<Note>,
    },
    ChangeTags(ChangeTags),
    SetFields(SetFields),
    Archive,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpenTicket {
    pub ticket_id: TicketId,
    pub workspace_id: WorkspaceId,
    pub subject: Subject,
    pub customer: Customer,
    pub priority: Priority,
    pub channel: Channel,
    pub tags: BTreeSet<Tag>,
    pub fields: Fields,
    /// The first message of the conversation, written by the customer (intake)
    /// or by whoever opened the ticket on their behalf.
    pub first_message: AddMessage,
    /// A closed ticket this one continues.
    pub follows_up: Option<TicketId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AddMessage {
    pub message_id: MessageId,
    pub author: Author,
    pub visibility: MessageVisibility,
    pub text: MessageText,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SendTemplate {
    pub message: AddMessage,
    pub template: crate::templating::TemplateRef,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EditMessage {
    pub message_id: MessageId,
    pub editor: Author,
    pub text: MessageText,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChangeStatus {
    pub to: Status,
    pub reason: Option<Note>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ChangePriority {
    pub to: Priority,
}

/// Assign to an agent, a team, or both. Moving to another team without naming
/// an agent releases the current agent: the ticket goes to that team's queue.
#[derive(Debug, Clone, PartialEq)]
pub struct Assign {
    pub agent: Option<AgentId>,
    pub team: Option<TeamId>,
    pub note: Option<Note>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChangeTags {
    pub add: BTreeSet<Tag>,
    pub remove: BTreeSet<Tag>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct SetFields {
    pub set: Fields,
    pub remove: BTreeSet<FieldKey>,
}
