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
    /// Record the SLA policy version that covers the ticket (system:sla).
    ApplySla(ApplySla),
    /// Record a warning or a breach of a metric whose moment has come (system:sla).
    RecordSla(RecordSla),
    /// Fire an escalation rule if it holds and has not fired yet (system:escalation).
    Escalate(Escalate),
    /// Hand a waiting ticket to the agent the routing chose (system:assignment).
    /// Changes nothing unless the ticket is still active, unassigned and in
    /// the queue the decision took it from.
    AutoAssign(AutoAssign),
}

/// An automatic assignment and the decision behind it.
#[derive(Debug, Clone, PartialEq)]
pub struct AutoAssign {
    pub agent: AgentId,
    pub decision: crate::routing::AssignmentDecision,
}

/// The policy version chosen for the ticket, with what the ticket must record of it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApplySla {
    pub policy_id: crate::ids::SlaPolicyId,
    pub policy_version: i64,
    pub policy_name: String,
    pub calendar: crate::sla::Calendar,
    pub warning_percent: u8,
    pub targets: crate::sla::SlaTargets,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaMoment {
    Warning,
    Breach,
}

/// Record `moment` of `metric` if it has come (decided against the ticket's
/// own clocks: a stale request records nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSla {
    pub metric: crate::sla::Metric,
    pub moment: SlaMoment,
}

/// Fire `rule` (tier `tier` of the policy) if all its conditions hold.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalate {
    pub policy_id: crate::ids::EscalationPolicyId,
    pub policy_version: i64,
    pub tier: u32,
    pub rule: crate::escalation::EscalationRule,
    /// The lead of each team an `assign_team_lead` action names, where known.
    pub team_leads: std::collections::BTreeMap<TeamId, AgentId>,
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
