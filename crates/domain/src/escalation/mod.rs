//! Escalation policies: ordered rules, each a set of conditions on a ticket
//! (age, priority, customer segment, SLA warning or breach, no agent reply
//! for a while) and the actions taken when all hold (move to a team's queue,
//! raise the priority, assign to an agent or a team's lead, add a tag, post
//! an internal note, notify webhooks). A rule fires at most once per ticket;
//! the ticket records it as `TicketEscalated` with the rule and its tier.

mod policy;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, EscalationRuleId, TeamId};
use crate::sla::Metric;
use crate::sla::policy::Segment;
use crate::ticket::Ticket;
use crate::values::{MessageText, Priority, ResourceName, Tag, ValueError};

pub use policy::{
    AGGREGATE_TYPE, EVENT_VERSION, EscalationPolicy, EscalationPolicyCommand,
    EscalationPolicyDefinition, EscalationPolicyEvent, EscalationPolicyRefused,
};

/// The system author of escalation notes.
pub const NOTE_AUTHOR: &str = "escalation";

/// One thing that must hold for a rule to fire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Condition {
    /// The ticket was opened at least this long ago.
    TicketAge { seconds: i64 },
    /// The ticket has one of these priorities.
    Priority { priorities: BTreeSet<Priority> },
    /// The customer is in one of these segments (the `segment` custom field).
    Segment { segments: BTreeSet<Segment> },
    /// A warning was recorded for the metric (any metric when absent) and it
    /// is still unmet.
    SlaWarning {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metric: Option<Metric>,
    },
    /// The metric (any when absent) breached and is still unmet.
    SlaBreach {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        metric: Option<Metric>,
    },
    /// The customer has waited this long for a human agent's public reply
    /// (not counted while the ticket waits on the customer).
    NoAgentReply { seconds: i64 },
}

impl Condition {
    pub const MAX_SECONDS: i64 = 366 * 24 * 3600;

    pub fn kind(&self) -> &'static str {
        match self {
            Self::TicketAge { .. } => "ticket_age",
            Self::Priority { .. } => "priority",
            Self::Segment { .. } => "segment",
            Self::SlaWarning { .. } => "sla_warning",
            Self::SlaBreach { .. } => "sla_breach",
            Self::NoAgentReply { .. } => "no_agent_reply",
        }
    }

    fn validate(&self) -> Result<(), ValueError> {
        match self {
            Self::TicketAge { seconds } | Self::NoAgentReply { seconds }
                if !(1..=Self::MAX_SECONDS).contains(seconds) =>
            {
                Err(ValueError::new(
                    "seconds",
                    format!("must be 1–{} seconds", Self::MAX_SECONDS),
                ))
            }
            Self::Priority { priorities } if priorities.is_empty() => {
                Err(ValueError::new("priorities", "name at least one priority"))
            }
            Self::Segment { segments } if segments.is_empty() => {
                Err(ValueError::new("segments", "name at least one segment"))
            }
            _ => Ok(()),
        }
    }

    /// Does the condition hold for `ticket` at `now`?
    pub fn holds(&self, ticket: &Ticket, now: DateTime<Utc>) -> bool {
        let sla = &ticket.sla;
        let clock_matches =
            |metric: &Option<Metric>, pred: &dyn Fn(&crate::sla::MetricClock) -> bool| {
                sla.clocks
                    .iter()
                    .filter(|(m, _)| metric.is_none_or(|want| **m == want))
                    .any(|(_, c)| c.is_running() && pred(c))
            };
        match self {
            Self::TicketAge { seconds } => ticket
                .opened_at
                .is_some_and(|t| t + Duration::seconds(*seconds) <= now),
            Self::Priority { priorities } => priorities.contains(&ticket.priority),
            Self::Segment { segments } => {
                Segment::of(ticket).is_some_and(|s| segments.contains(&s))
            }
            Self::SlaWarning { metric } => clock_matches(metric, &|c| c.warned || c.breached),
            Self::SlaBreach { metric } => clock_matches(metric, &|c| c.breached),
            Self::NoAgentReply { seconds } => {
                ticket.status != crate::values::Status::WaitingOnCustomer
                    && sla
                        .awaiting_reply_since
                        .is_some_and(|t| t + Duration::seconds(*seconds) <= now)
            }
        }
    }
}

/// What a rule does when it fires.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Put the ticket in the team's queue (its agent is released).
    MoveToTeam {
        team_id: TeamId,
    },
    /// Raise the priority to `to` (one step when absent); never lowers it.
    RaisePriority {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<Priority>,
    },
    AssignAgent {
        agent_id: AgentId,
    },
    /// Assign to the team's lead (recorded with the lead it resolved to; with
    /// no known lead, the ticket goes to the team's queue).
    AssignTeamLead {
        team_id: TeamId,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent_id: Option<AgentId>,
    },
    AddTag {
        tag: Tag,
    },
    /// An internal note on the ticket from the escalation system.
    InternalNote {
        text: MessageText,
    },
    /// Notify webhook subscribers (`ticket.escalated`), with an optional label.
    EmitWebhook {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<String>,
    },
}

impl Action {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::MoveToTeam { .. } => "move_to_team",
            Self::RaisePriority { .. } => "raise_priority",
            Self::AssignAgent { .. } => "assign_agent",
            Self::AssignTeamLead { .. } => "assign_team_lead",
            Self::AddTag { .. } => "add_tag",
            Self::InternalNote { .. } => "internal_note",
            Self::EmitWebhook { .. } => "emit_webhook",
        }
    }
}

/// One rule of a policy. Its tier is its 1-based position in the policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EscalationRule {
    pub id: EscalationRuleId,
    pub name: ResourceName,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

impl EscalationRule {
    pub const MAX_CONDITIONS: usize = 8;
    pub const MAX_ACTIONS: usize = 10;

    pub fn new(
        id: EscalationRuleId,
        name: ResourceName,
        conditions: Vec<Condition>,
        actions: Vec<Action>,
    ) -> Result<Self, ValueError> {
        if conditions.is_empty() || conditions.len() > Self::MAX_CONDITIONS {
            return Err(ValueError::new(
                "conditions",
                format!("give 1–{} conditions", Self::MAX_CONDITIONS),
            ));
        }
        if actions.is_empty() || actions.len() > Self::MAX_ACTIONS {
            return Err(ValueError::new(
                "actions",
                format!("give 1–{} actions", Self::MAX_ACTIONS),
            ));
        }
        for c in &conditions {
            c.validate()
                .map_err(|e| ValueError::new(format!("conditions.{}", e.field), e.reason))?;
        }
        if let Some(Action::EmitWebhook { label: Some(l) }) = actions
            .iter()
            .find(|a| matches!(a, Action::EmitWebhook { label: Some(l) } if l.trim().is_empty() || l.chars().count() > 100))
        {
            return Err(ValueError::new(
                "actions.label",
                format!("'{l}' must be 1–100 characters"),
            ));
        }
        Ok(Self {
            id,
            name,
            conditions,
            actions,
        })
    }

    /// Do all conditions hold for an active `ticket` at `now`?
    pub fn fires(&self, ticket: &Ticket, now: DateTime<Utc>) -> bool {
        ticket.status.is_active()
            && !ticket.archived
            && self.conditions.iter().all(|c| c.holds(ticket, now))
    }
}
