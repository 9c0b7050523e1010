//! The ticket's state as its events have shaped it, and how each event shapes it.

use std::collections::{BTreeSet, VecDeque};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, MessageId, TeamId, TicketId, WorkspaceId};
use crate::values::{Customer, Fields, Priority, Status, Subject, Tag};

use super::events::{Author, Channel, TicketEvent};

/// A recently added message: enough to ignore a repeated request and to check
/// who may edit it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRef {
    pub id: MessageId,
    pub author: Author,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Ticket {
    pub id: Option<TicketId>,
    pub workspace_id: Option<WorkspaceId>,
    pub subject: Option<Subject>,
    pub customer: Option<Customer>,
    pub channel: Option<Channel>,
    pub priority: Priority,
    pub status: Status,
    pub assignee: Option<AgentId>,
    pub team: Option<TeamId>,
    pub tags: BTreeSet<Tag>,
    pub fields: Fields,
    pub archived: bool,
    pub follows_up: Option<TicketId>,
    pub opened_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    pub message_count: u64,
    /// The most recent messages, newest last, at most [`Ticket::RECENT_MESSAGES`]:
    /// idempotent repeats and edits are recognised within this window, which
    /// keeps the state (and its snapshot) the same size however long the ticket.
    pub recent_messages: VecDeque<MessageRef>,
    /// Service-level clocks, the applied SLA policy and fired escalations.
    #[serde(default)]
    pub sla: crate::sla::TicketSla,
}

impl Ticket {
    pub const RECENT_MESSAGES: usize = 512;
    pub const MAX_TAGS: usize = 30;

    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    pub fn message(&self, id: &MessageId) -> Option<&MessageRef> {
        self.recent_messages.iter().rev().find(|m| &m.id == id)
    }

    /// Fold a history into a state.
    pub fn from_events<'a>(events: impl IntoIterator<Item = &'a TicketEvent>) -> Self {
        let mut t = Self::default();
        for e in events {
            t.apply(e.clone());
        }
        t
    }

    pub fn apply(&mut self, event: TicketEvent) {
        self.updated_at = Some(event.at());
        self.sla.apply(&event);
        match event {
            TicketEvent::Opened {
                ticket_id,
                workspace_id,
                subject,
                customer,
                priority,
                channel,
                tags,
                fields,
                follows_up,
                at,
            } => {
                self.id = Some(ticket_id);
                self.workspace_id = Some(workspace_id);
                self.subject = Some(subject);
                self.customer = Some(customer);
                self.priority = priority;
                self.channel = Some(channel);
                self.tags = tags;
                self.fields = fields;
                self.follows_up = follows_up;
                self.status = Status::Open;
                self.opened_at = Some(at);
            }
            TicketEvent::MessageAdded {
                message_id, author, ..
            } => {
                self.message_count += 1;
                self.recent_messages.push_back(MessageRef {
                    id: message_id,
                    author,
                });
                while self.recent_messages.len() > Self::RECENT_MESSAGES {
                    self.recent_messages.pop_front();
                }
            }
            TicketEvent::MessageEdited { .. } => {}
            TicketEvent::StatusChanged { to, at, .. } => {
                self.status = to;
                match to {
                    Status::Resolved => self.resolved_at = Some(at),
                    Status::Closed => self.closed_at = Some(at),
                    _ => self.resolved_at = None,
                }
            }
            TicketEvent::PriorityChanged { to, .. } => self.priority = to,
            TicketEvent::Assigned {
                agent_id, team_id, ..
            } => {
                self.assignee = agent_id;
                self.team = team_id;
            }
            TicketEvent::Unassigned { .. } => self.assignee = None,
            TicketEvent::TagsChanged { added, removed, .. } => {
                self.tags.extend(added);
                for t in &removed {
                    self.tags.remove(t);
                }
            }
            TicketEvent::FieldsChanged { set, removed, .. } => {
                for (k, v) in set.iter() {
                    self.fields.insert(k.clone(), v.clone());
                }
                for k in &removed {
                    self.fields.remove(k);
                }
            }
            TicketEvent::Archived { .. } => self.archived = true,
            TicketEvent::SlaPolicyApplied { .. }
            | TicketEvent::SlaWarning { .. }
            | TicketEvent::SlaBreached { .. }
            | TicketEvent::TicketEscalated { .. } => {}
        }
    }
}
