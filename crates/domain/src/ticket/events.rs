//! What happened to a ticket. Names and shapes are frozen once stored: a change
//! is a new version with an upcaster, never an edit of this file's meaning.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, MessageId, TeamId, TicketId, WorkspaceId};
use crate::values::{Attachment, Customer, FieldKey, Fields, Priority, Status, Subject, Tag};

use super::workflow::StatusChangeCause;

/// Schema version of every ticket event payload written today.
pub const EVENT_VERSION: &str = "1.0";

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Author {
    /// The ticket's customer.
    Customer,
    /// A human agent.
    Agent { agent_id: AgentId },
    /// A person using an API token that is not bound to an agent record (an admin).
    Staff { token_id: String },
    /// The system or a bot (automatic replies, templates sent by rules).
    System { name: String },
}

impl Author {
    pub fn is_customer(&self) -> bool {
        matches!(self, Self::Customer)
    }

    /// A human on the support side: counts for first response time.
    pub fn is_human_agent(&self) -> bool {
        matches!(self, Self::Agent { .. } | Self::Staff { .. })
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Customer => "customer",
            Self::Agent { .. } => "agent",
            Self::Staff { .. } => "staff",
            Self::System { .. } => "system",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageVisibility {
    Public,
    Internal,
}

impl MessageVisibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Internal => "internal",
        }
    }
}

/// Where a ticket came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Api,
    Telegram,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Telegram => "telegram",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TicketEvent {
    #[serde(rename = "TicketOpened")]
    Opened {
        ticket_id: TicketId,
        workspace_id: WorkspaceId,
        subject: Subject,
        customer: Customer,
        priority: Priority,
        channel: Channel,
        #[serde(default)]
        tags: BTreeSet<Tag>,
        #[serde(default)]
        fields: Fields,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        follows_up: Option<TicketId>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "MessageAdded")]
    MessageAdded {
        message_id: MessageId,
        author: Author,
        visibility: MessageVisibility,
        text: String,
        #[serde(default)]
        attachments: Vec<Attachment>,
        at: DateTime<Utc>,
        /// The canned response or template (and its version) the text was written from.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        template: Option<crate::templating::TemplateRef>,
    },
    #[serde(rename = "MessageEdited")]
    MessageEdited {
        message_id: MessageId,
        editor: Author,
        text: String,
        at: DateTime<Utc>,
    },
    #[serde(rename = "StatusChanged")]
    StatusChanged {
        from: Status,
        to: Status,
        cause: StatusChangeCause,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "PriorityChanged")]
    PriorityChanged {
        from: Priority,
        to: Priority,
        at: DateTime<Utc>,
    },
    #[serde(rename = "TicketAssigned")]
    Assigned {
        agent_id: Option<AgentId>,
        team_id: Option<TeamId>,
        previous_agent_id: Option<AgentId>,
        previous_team_id: Option<TeamId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        at: DateTime<Utc>,
        /// Why the agent was chosen, when the assignment was automatic
        /// (`system:assignment`): the strategy and every candidate considered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        decision: Option<crate::routing::AssignmentDecision>,
    },
    #[serde(rename = "TicketUnassigned")]
    Unassigned {
        previous_agent_id: Option<AgentId>,
        previous_team_id: Option<TeamId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "TagsChanged")]
    TagsChanged {
        added: BTreeSet<Tag>,
        removed: BTreeSet<Tag>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "FieldsChanged")]
    FieldsChanged {
        set: Fields,
        removed: BTreeSet<FieldKey>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "TicketArchived")]
    Archived { at: DateTime<Utc> },
    /// The SLA policy version the ticket is measured against from now on,
    /// with the targets for its priority and the calendar they count in.
    #[serde(rename = "SlaPolicyApplied")]
    SlaPolicyApplied {
        policy_id: crate::ids::SlaPolicyId,
        policy_version: i64,
        #[serde(default)]
        policy_name: String,
        priority: Priority,
        targets: crate::sla::SlaTargets,
        calendar: crate::sla::Calendar,
        #[serde(default)]
        warning_percent: u8,
        at: DateTime<Utc>,
    },
    /// A metric's warning threshold passed (once per metric and cycle).
    #[serde(rename = "SlaWarning")]
    SlaWarning {
        metric: crate::sla::Metric,
        cycle: u32,
        policy_id: crate::ids::SlaPolicyId,
        policy_version: i64,
        target_seconds: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        warn_at: Option<DateTime<Utc>>,
        due_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// A metric's target passed unmet (once per metric and cycle).
    #[serde(rename = "SlaBreached")]
    SlaBreached {
        metric: crate::sla::Metric,
        cycle: u32,
        policy_id: crate::ids::SlaPolicyId,
        policy_version: i64,
        target_seconds: i64,
        due_at: DateTime<Utc>,
        at: DateTime<Utc>,
    },
    /// An escalation rule fired (once per rule and ticket); the events of its
    /// actions follow in the same decision.
    #[serde(rename = "TicketEscalated")]
    TicketEscalated {
        policy_id: crate::ids::EscalationPolicyId,
        policy_version: i64,
        rule_id: crate::ids::EscalationRuleId,
        #[serde(default)]
        rule_name: String,
        tier: u32,
        #[serde(default)]
        conditions: Vec<crate::escalation::Condition>,
        #[serde(default)]
        actions: Vec<crate::escalation::Action>,
        at: DateTime<Utc>,
    },
}

impl TicketEvent {
    /// The frozen type name stored in the log's `event_type` column.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Opened { .. } => "TicketOpened",
            Self::MessageAdded { .. } => "MessageAdded",
            Self::MessageEdited { .. } => "MessageEdited",
            Self::StatusChanged { .. } => "StatusChanged",
            Self::PriorityChanged { .. } => "PriorityChanged",
            Self::Assigned { .. } => "TicketAssigned",
            Self::Unassigned { .. } => "TicketUnassigned",
            Self::TagsChanged { .. } => "TagsChanged",
            Self::FieldsChanged { .. } => "FieldsChanged",
            Self::Archived { .. } => "TicketArchived",
            Self::SlaPolicyApplied { .. } => "SlaPolicyApplied",
            Self::SlaWarning { .. } => "SlaWarning",
            Self::SlaBreached { .. } => "SlaBreached",
            Self::TicketEscalated { .. } => "TicketEscalated",
        }
    }

    /// When it happened, by the injected clock.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Opened { at, .. }
            | Self::MessageAdded { at, .. }
            | Self::MessageEdited { at, .. }
            | Self::StatusChanged { at, .. }
            | Self::PriorityChanged { at, .. }
            | Self::Assigned { at, .. }
            | Self::Unassigned { at, .. }
            | Self::TagsChanged { at, .. }
            | Self::FieldsChanged { at, .. }
            | Self::Archived { at }
            | Self::SlaPolicyApplied { at, .. }
            | Self::SlaWarning { at, .. }
            | Self::SlaBreached { at, .. }
            | Self::TicketEscalated { at, .. } => *at,
        }
    }
}

impl cqrs_es::DomainEvent for TicketEvent {
    fn event_type(&self) -> String {
        self.type_name().to_owned()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_owned()
    }
}
