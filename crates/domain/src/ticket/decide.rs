//! Deciding a command: `decide(&state, command, now) -> events | refusal`.
//! Pure: no awaits, no lookups, no clock.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::templating::TemplateRef;
use crate::values::{Fields, Status};

use super::commands::{AddMessage, Assign, ChangeTags, EditMessage, SetFields, TicketCommand};
use super::errors::TicketError;
use super::events::TicketEvent;
use super::state::Ticket;
use super::workflow::{StatusChangeCause, after_customer_message, check_transition};

/// Decide what `command` means for `ticket` at `now`. An empty list means the
/// command changes nothing (a repeat of something already done).
pub fn decide(
    ticket: &Ticket,
    command: TicketCommand,
    now: DateTime<Utc>,
) -> Result<Vec<TicketEvent>, TicketError> {
    if let TicketCommand::Open(open) = command {
        if ticket.exists() {
            // Same id means the same request again (ids of new tickets are
            // random or derived from an idempotency key).
            return Ok(vec![]);
        }
        if open.tags.len() > Ticket::MAX_TAGS {
            return Err(TicketError::TooManyTags {
                max: Ticket::MAX_TAGS,
            });
        }
        let mut events = vec![TicketEvent::Opened {
            ticket_id: open.ticket_id,
            workspace_id: open.workspace_id,
            subject: open.subject,
            customer: open.customer,
            priority: open.priority,
            channel: open.channel,
            tags: open.tags,
            fields: open.fields,
            follows_up: open.follows_up,
            at: now,
        }];
        events.push(message_added(open.first_message, None, now));
        return Ok(events);
    }
    if !ticket.exists() {
        return Err(TicketError::NotFound);
    }
    if let TicketCommand::Archive = command {
        return archive(ticket, now);
    }
    if ticket.status == Status::Closed {
        return Err(TicketError::Closed);
    }
    match command {
        TicketCommand::Open(_) | TicketCommand::Archive => Ok(vec![]),
        TicketCommand::AddMessage(m) => add_message(ticket, m, None, now),
        TicketCommand::SendTemplate(s) => add_message(ticket, s.message, Some(s.template), now),
        TicketCommand::EditMessage(e) => edit_message(ticket, e, now),
        TicketCommand::ChangeStatus(c) => {
            if c.to == ticket.status {
                return Ok(vec![]);
            }
            check_transition(ticket.status, c.to)?;
            Ok(vec![TicketEvent::StatusChanged {
                from: ticket.status,
                to: c.to,
                cause: StatusChangeCause::Manual,
                reason: c.reason.map(|r| r.as_str().to_owned()),
                at: now,
            }])
        }
        TicketCommand::ChangePriority(c) => {
            if c.to == ticket.priority {
                return Ok(vec![]);
            }
            Ok(vec![TicketEvent::PriorityChanged {
                from: ticket.priority,
                to: c.to,
                at: now,
            }])
        }
        TicketCommand::Assign(a) => assign(ticket, a, now),
        TicketCommand::Unassign { note } => {
            let Some(previous) = ticket.assignee else {
                return Err(TicketError::NotAssigned);
            };
            Ok(vec![TicketEvent::Unassigned {
                previous_agent_id: Some(previous),
                previous_team_id: ticket.team,
                note: note.map(|n| n.as_str().to_owned()),
                at: now,
            }])
        }
        TicketCommand::ChangeTags(c) => change_tags(ticket, c, now),
        TicketCommand::SetFields(c) => set_fields(ticket, c, now),
        TicketCommand::ApplySla(a) => super::service_level::apply_sla(ticket, a, now),
        TicketCommand::RecordSla(r) => super::service_level::record_sla(ticket, r, now),
        TicketCommand::Escalate(e) => super::service_level::escalate(ticket, e, now),
        TicketCommand::AutoAssign(a) => Ok(auto_assign(ticket, a, now)),
    }
}

/// Only a ticket still waiting where the decision found it is handed out:
/// anything else means another writer got there first.
fn auto_assign(
    ticket: &Ticket,
    a: super::commands::AutoAssign,
    now: DateTime<Utc>,
) -> Vec<TicketEvent> {
    if ticket.assignee.is_some() || !ticket.status.is_active() || ticket.team != a.decision.team_id
    {
        return vec![];
    }
    vec![TicketEvent::Assigned {
        agent_id: Some(a.agent),
        team_id: ticket.team,
        previous_agent_id: None,
        previous_team_id: ticket.team,
        note: None,
        at: now,
        decision: Some(a.decision),
    }]
}

fn message_added(m: AddMessage, template: Option<TemplateRef>, now: DateTime<Utc>) -> TicketEvent {
    TicketEvent::MessageAdded {
        message_id: m.message_id,
        author: m.author,
        visibility: m.visibility,
        text: m.text.as_str().to_owned(),
        attachments: m.attachments,
        at: now,
        template,
    }
}

fn add_message(
    ticket: &Ticket,
    m: AddMessage,
    template: Option<TemplateRef>,
    now: DateTime<Utc>,
) -> Result<Vec<TicketEvent>, TicketError> {
    if ticket.message(&m.message_id).is_some() {
        return Ok(vec![]);
    }
    let from_customer = m.author.is_customer();
    let mut events = vec![message_added(m, template, now)];
    if from_customer && let Some(to) = after_customer_message(ticket.status) {
        events.push(TicketEvent::StatusChanged {
            from: ticket.status,
            to,
            cause: StatusChangeCause::CustomerReplied,
            reason: None,
            at: now,
        });
    }
    Ok(events)
}

fn edit_message(
    ticket: &Ticket,
    e: EditMessage,
    now: DateTime<Utc>,
) -> Result<Vec<TicketEvent>, TicketError> {
    let original = ticket
        .message(&e.message_id)
        .ok_or(TicketError::MessageNotFound)?;
    if original.author != e.editor {
        return Err(TicketError::NotMessageAuthor);
    }
    Ok(vec![TicketEvent::MessageEdited {
        message_id: e.message_id,
        editor: e.editor,
        text: e.text.as_str().to_owned(),
        at: now,
    }])
}

fn assign(ticket: &Ticket, a: Assign, now: DateTime<Utc>) -> Result<Vec<TicketEvent>, TicketError> {
    if a.agent.is_none() && a.team.is_none() {
        return Err(TicketError::NothingToChange(
            "name an agent, a team, or both",
        ));
    }
    let team = a.team.or(ticket.team);
    let agent = match (a.agent, a.team) {
        (Some(agent), _) => Some(agent),
        // A move to another team's queue releases the current agent.
        (None, Some(new_team)) if ticket.team.is_some_and(|t| t != new_team) => None,
        (None, _) => ticket.assignee,
    };
    if agent == ticket.assignee && team == ticket.team {
        return Ok(vec![]);
    }
    Ok(vec![TicketEvent::Assigned {
        agent_id: agent,
        team_id: team,
        previous_agent_id: ticket.assignee,
        previous_team_id: ticket.team,
        note: a.note.map(|n| n.as_str().to_owned()),
        at: now,
        decision: None,
    }])
}

fn change_tags(
    ticket: &Ticket,
    c: ChangeTags,
    now: DateTime<Utc>,
) -> Result<Vec<TicketEvent>, TicketError> {
    if c.add.is_empty() && c.remove.is_empty() {
        return Err(TicketError::NothingToChange("give tags to add or remove"));
    }
    let added: BTreeSet<_> = c
        .add
        .into_iter()
        .filter(|t| !ticket.tags.contains(t) && !c.remove.contains(t))
        .collect();
    let removed: BTreeSet<_> = c
        .remove
        .into_iter()
        .filter(|t| ticket.tags.contains(t))
        .collect();
    if added.is_empty() && removed.is_empty() {
        return Ok(vec![]);
    }
    if ticket.tags.len() + added.len() - removed.len() > Ticket::MAX_TAGS {
        return Err(TicketError::TooManyTags {
            max: Ticket::MAX_TAGS,
        });
    }
    Ok(vec![TicketEvent::TagsChanged {
        added,
        removed,
        at: now,
    }])
}

fn set_fields(
    ticket: &Ticket,
    c: SetFields,
    now: DateTime<Utc>,
) -> Result<Vec<TicketEvent>, TicketError> {
    if c.set.is_empty() && c.remove.is_empty() {
        return Err(TicketError::NothingToChange("give fields to set or remove"));
    }
    let mut set = Fields::default();
    for (k, v) in c.set.iter() {
        if ticket.fields.get(k) != Some(v) {
            set.insert(k.clone(), v.clone());
        }
    }
    let removed: BTreeSet<_> = c
        .remove
        .into_iter()
        // A key both set and removed is set.
        .filter(|k| ticket.fields.get(k).is_some() && c.set.get(k).is_none())
        .collect();
    if set.is_empty() && removed.is_empty() {
        return Ok(vec![]);
    }
    let new_keys = set
        .iter()
        .filter(|(k, _)| ticket.fields.get(k).is_none())
        .count();
    if ticket.fields.len() + new_keys - removed.len() > Fields::MAX_FIELDS {
        return Err(TicketError::TooManyFields {
            max: Fields::MAX_FIELDS,
        });
    }
    Ok(vec![TicketEvent::FieldsChanged {
        set,
        removed,
        at: now,
    }])
}

fn archive(ticket: &Ticket, now: DateTime<Utc>) -> Result<Vec<TicketEvent>, TicketError> {
    if ticket.status != Status::Closed {
        return Err(TicketError::ArchiveRequiresClosed {
            current: ticket.status,
        });
    }
    if ticket.archived {
        return Ok(vec![]);
    }
    Ok(vec![TicketEvent::Archived { at: now }])
}
