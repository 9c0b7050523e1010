//! Deciding the service-level commands of a ticket: applying an SLA policy
//! version, recording warnings and breaches when their moment has come, and
//! firing escalation rules. Time-driven facts are decided against the
//! ticket's own clocks, so a late or repeated request records nothing twice.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::escalation::{Action, NOTE_AUTHOR};
use crate::ids::MessageId;
use crate::sla::{DeadlineState, escalation_key};

use super::commands::{
    AddMessage, ApplySla, Assign, ChangePriority, ChangeTags, Escalate, RecordSla, SlaMoment,
    TicketCommand,
};
use super::decide::decide;
use super::errors::TicketError;
use super::events::{Author, MessageVisibility, TicketEvent};
use super::state::Ticket;

pub(super) fn apply_sla(
    ticket: &Ticket,
    a: ApplySla,
    now: DateTime<Utc>,
) -> Result<Vec<TicketEvent>, TicketError> {
    if let Some(current) = &ticket.sla.applied
        && current.policy_id == a.policy_id
        && current.policy_version == a.policy_version
        && current.targets == a.targets
        && current.calendar == a.calendar
        && current.warning_percent == a.warning_percent
    {
        return Ok(vec![]);
    }
    Ok(vec![TicketEvent::SlaPolicyApplied {
        policy_id: a.policy_id,
        policy_version: a.policy_version,
        policy_name: a.policy_name,
        priority: ticket.priority,
        targets: a.targets,
        calendar: a.calendar,
        warning_percent: a.warning_percent,
        at: now,
    }])
}

pub(super) fn record_sla(
    ticket: &Ticket,
    r: RecordSla,
    now: DateTime<Utc>,
) -> Result<Vec<TicketEvent>, TicketError> {
    let (Some(applied), Some(d)) = (&ticket.sla.applied, ticket.sla.deadline(r.metric)) else {
        return Ok(vec![]);
    };
    if !matches!(d.state, DeadlineState::Ok | DeadlineState::Warning) {
        return Ok(vec![]);
    }
    let Some(due_at) = d.due_at else {
        return Ok(vec![]);
    };
    match r.moment {
        SlaMoment::Breach => {
            if now < due_at {
                return Ok(vec![]);
            }
            Ok(vec![TicketEvent::SlaBreached {
                metric: r.metric,
                cycle: d.cycle,
                policy_id: applied.policy_id,
                policy_version: applied.policy_version,
                target_seconds: d.target_seconds,
                due_at,
                at: now,
            }])
        }
        SlaMoment::Warning => {
            // A warning after the due time is moot: the breach says more.
            match d.warn_at {
                Some(warn_at) if !d.warned && warn_at <= now && now < due_at => {
                    Ok(vec![TicketEvent::SlaWarning {
                        metric: r.metric,
                        cycle: d.cycle,
                        policy_id: applied.policy_id,
                        policy_version: applied.policy_version,
                        target_seconds: d.target_seconds,
                        warn_at: Some(warn_at),
                        due_at,
                        at: now,
                    }])
                }
                _ => Ok(vec![]),
            }
        }
    }
}

pub(super) fn escalate(
    ticket: &Ticket,
    e: Escalate,
    now: DateTime<Utc>,
) -> Result<Vec<TicketEvent>, TicketError> {
    let key = escalation_key(&e.policy_id, &e.rule.id);
    if ticket.sla.escalated(&key) || !e.rule.fires(ticket, now) {
        return Ok(vec![]);
    }
    let actions: Vec<Action> = e
        .rule
        .actions
        .iter()
        .map(|a| match a {
            Action::AssignTeamLead { team_id, .. } => Action::AssignTeamLead {
                team_id: *team_id,
                agent_id: e.team_leads.get(team_id).copied(),
            },
            other => other.clone(),
        })
        .collect();
    let escalated = TicketEvent::TicketEscalated {
        policy_id: e.policy_id,
        policy_version: e.policy_version,
        rule_id: e.rule.id,
        rule_name: e.rule.name.as_str().to_owned(),
        tier: e.tier,
        conditions: e.rule.conditions.clone(),
        actions: actions.clone(),
        at: now,
    };
    let mut state = ticket.clone();
    state.apply(escalated.clone());
    let mut events = vec![escalated];
    for action in &actions {
        let Some(command) = command_for(&state, action, &key) else {
            continue;
        };
        // An action the ticket refuses (too many tags, say) is skipped; the
        // escalation itself stands.
        let Ok(consequences) = decide(&state, command, now) else {
            continue;
        };
        for c in consequences {
            state.apply(c.clone());
            events.push(c);
        }
    }
    Ok(events)
}

/// The ordinary ticket command an action amounts to, if any.
fn command_for(ticket: &Ticket, action: &Action, key: &str) -> Option<TicketCommand> {
    match action {
        Action::MoveToTeam { team_id } => Some(TicketCommand::Assign(Assign {
            agent: None,
            team: Some(*team_id),
            note: None,
        })),
        Action::RaisePriority { to } => {
            let next = match to {
                Some(p) => *p,
                None => crate::values::Priority::ALL
                    .into_iter()
                    .find(|p| *p > ticket.priority)?,
            };
            (next > ticket.priority)
                .then_some(TicketCommand::ChangePriority(ChangePriority { to: next }))
        }
        Action::AssignAgent { agent_id } => Some(TicketCommand::Assign(Assign {
            agent: Some(*agent_id),
            team: None,
            note: None,
        })),
        Action::AssignTeamLead { team_id, agent_id } => Some(TicketCommand::Assign(Assign {
            agent: *agent_id,
            team: Some(*team_id),
            note: None,
        })),
        Action::AddTag { tag } => Some(TicketCommand::ChangeTags(ChangeTags {
            add: BTreeSet::from([tag.clone()]),
            remove: BTreeSet::new(),
        })),
        Action::InternalNote { text } => {
            let workspace = ticket.workspace_id.clone()?;
            let id = ticket.id?;
            Some(TicketCommand::AddMessage(AddMessage {
                message_id: MessageId::from_idempotency_key(
                    &workspace,
                    &format!("escalation-note/{id}/{key}"),
                ),
                author: Author::System {
                    name: NOTE_AUTHOR.to_owned(),
                },
                visibility: MessageVisibility::Internal,
                text: text.clone(),
                attachments: vec![],
            }))
        }
        Action::EmitWebhook { .. } => None,
    }
}
