//! A ticket-list row in memory and how each ticket event changes it: the
//! pure half of the projector, folded over a batch before one write.

use std::collections::BTreeSet;

use tgcrm_domain::ticket::{MessageVisibility, TicketEvent};
use tgcrm_store::{Arg, StoredEvent, args};

use super::TicketSummary;

/// The columns of `rm_tickets`, in table order.
pub(super) const COLUMNS: &str = "ticket_id, workspace_id, subject, status, priority, channel, \
     customer_telegram_id, customer_name, customer_username, assignee_agent_id, team_id, tags, archived, \
     message_count, first_response_at, last_message_at, resolved_at, created_at, updated_at, version";

impl TicketSummary {
    /// The row a ticket's opening creates.
    pub(super) fn opened(
        stored: &StoredEvent,
        event: &TicketEvent,
    ) -> anyhow::Result<Option<Self>> {
        let TicketEvent::Opened {
            workspace_id,
            subject,
            customer,
            priority,
            channel,
            tags,
            at,
            ..
        } = event
        else {
            return Ok(None);
        };
        Ok(Some(Self {
            ticket_id: stored.aggregate_id.clone(),
            workspace_id: workspace_id.as_str().to_owned(),
            subject: subject.as_str().to_owned(),
            status: "open".to_owned(),
            priority: priority.as_str().to_owned(),
            channel: channel.as_str().to_owned(),
            customer_telegram_id: customer.telegram_user_id.get(),
            customer_name: customer.name.as_str().to_owned(),
            customer_username: customer.username.as_ref().map(|u| u.as_str().to_owned()),
            tags: serde_json::to_value(tags)?,
            assignee_agent_id: None,
            team_id: None,
            archived: false,
            message_count: 0,
            first_response_at: None,
            last_message_at: None,
            resolved_at: None,
            created_at: *at,
            updated_at: *at,
            version: stored.sequence,
        }))
    }

    /// The tags, as kept in the row (a sorted JSON array).
    pub(super) fn tag_set(&self) -> BTreeSet<String> {
        serde_json::from_value(self.tags.clone()).unwrap_or_default()
    }

    /// Apply a later event of the ticket. Events at or below the row's
    /// version were applied already and change nothing.
    pub(super) fn apply(&mut self, seq: i64, event: &TicketEvent) -> anyhow::Result<()> {
        if seq <= self.version {
            return Ok(());
        }
        let at = match event {
            TicketEvent::Opened { .. } => return Ok(()),
            TicketEvent::MessageAdded {
                author,
                visibility,
                at,
                ..
            } => {
                self.message_count += 1;
                self.last_message_at = Some(*at);
                if *visibility == MessageVisibility::Public
                    && author.is_human_agent()
                    && self.first_response_at.is_none()
                {
                    self.first_response_at = Some(*at);
                }
                *at
            }
            TicketEvent::StatusChanged { to, at, .. } => {
                self.status = to.as_str().to_owned();
                self.resolved_at = match to.as_str() {
                    "resolved" => Some(*at),
                    "closed" => self.resolved_at,
                    _ => None,
                };
                *at
            }
            TicketEvent::PriorityChanged { to, at, .. } => {
                self.priority = to.as_str().to_owned();
                *at
            }
            TicketEvent::Assigned {
                agent_id,
                team_id,
                at,
                ..
            } => {
                self.assignee_agent_id = agent_id.map(|a| a.to_string());
                self.team_id = team_id.map(|t| t.to_string());
                *at
            }
            TicketEvent::Unassigned { at, .. } => {
                self.assignee_agent_id = None;
                *at
            }
            TicketEvent::TagsChanged { added, removed, at } => {
                let mut tags = self.tag_set();
                tags.extend(added.iter().map(|t| t.as_str().to_owned()));
                for t in removed {
                    tags.remove(t.as_str());
                }
                self.tags = serde_json::to_value(tags)?;
                *at
            }
            TicketEvent::Archived { at } => {
                self.archived = true;
                *at
            }
            TicketEvent::MessageEdited { at, .. }
            | TicketEvent::FieldsChanged { at, .. }
            | TicketEvent::SlaPolicyApplied { at, .. }
            | TicketEvent::SlaWarning { at, .. }
            | TicketEvent::SlaBreached { at, .. }
            | TicketEvent::TicketEscalated { at, .. } => *at,
        };
        self.updated_at = at;
        self.version = seq;
        Ok(())
    }

    /// Personal data erased: the customer's name and the subject go.
    pub(super) fn erase(&mut self) {
        self.customer_name = tgcrm_store::personal::ERASED.to_owned();
        self.customer_username = None;
        self.subject = tgcrm_store::personal::ERASED.to_owned();
    }

    /// The row's values in [`COLUMNS`] order.
    pub(super) fn values(&self) -> Vec<Arg> {
        args![
            self.ticket_id.as_str(),
            self.workspace_id.as_str(),
            self.subject.as_str(),
            self.status.as_str(),
            self.priority.as_str(),
            self.channel.as_str(),
            self.customer_telegram_id,
            self.customer_name.as_str(),
            self.customer_username.clone(),
            self.assignee_agent_id.clone(),
            self.team_id.clone(),
            self.tags.clone(),
            self.archived,
            self.message_count,
            self.first_response_at,
            self.last_message_at,
            self.resolved_at,
            self.created_at,
            self.updated_at,
            self.version,
        ]
    }
}
