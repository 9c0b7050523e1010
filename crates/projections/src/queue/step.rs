//! The events the queue reads, decoded once per batch.

use tgcrm_domain::queue::{QueueChange, WorkspaceQueue};
use tgcrm_domain::team::{self, Team};
use tgcrm_domain::ticket::TicketEvent;
use tgcrm_store::StoredEvent;

use super::queue_key;

/// An event that may change the queue tables, decoded once.
#[derive(Debug)]
pub(super) enum Step {
    Ticket {
        id: String,
        seq: i64,
        workspace: String,
        position: i64,
        event: TicketEvent,
    },
    /// A queue's whole manual order replaced.
    Reorder {
        key: String,
        workspace: String,
        order: Vec<String>,
    },
}

impl Step {
    /// `None` for events that leave the queue tables alone.
    pub(super) fn decode(stored: &StoredEvent) -> anyhow::Result<Option<Self>> {
        if let Some(event) = stored.ticket_event() {
            let event = event?;
            let relevant = matches!(
                event,
                TicketEvent::Opened { .. }
                    | TicketEvent::MessageAdded { .. }
                    | TicketEvent::SlaPolicyApplied { .. }
                    | TicketEvent::Assigned { .. }
                    | TicketEvent::Unassigned { .. }
                    | TicketEvent::StatusChanged { .. }
                    | TicketEvent::PriorityChanged { .. }
                    | TicketEvent::TagsChanged { .. }
                    | TicketEvent::Archived { .. }
            );
            return Ok(relevant.then(|| Self::Ticket {
                id: stored.aggregate_id.clone(),
                seq: stored.sequence,
                workspace: stored.workspace_id.clone(),
                position: stored.position.position,
                event,
            }));
        }
        let change = if let Some(event) = stored.decode::<Team>() {
            event?.queue_change()
        } else if let Some(event) = stored.decode::<WorkspaceQueue>() {
            event?.change()
        } else {
            None
        };
        let Some(QueueChange::Reordered { order, .. }) = change else {
            return Ok(None);
        };
        let key = if stored.aggregate_type == team::AGGREGATE_TYPE {
            queue_key(&stored.workspace_id, Some(&stored.aggregate_id))
        } else {
            queue_key(&stored.workspace_id, None)
        };
        Ok(Some(Self::Reorder {
            key,
            workspace: stored.workspace_id.clone(),
            order: order.iter().map(ToString::to_string).collect(),
        }))
    }

    /// The ticket whose `rm_queue` row the step reads.
    pub(super) fn ticket(&self) -> Option<&str> {
        match self {
            Self::Ticket { id, .. } => Some(id),
            Self::Reorder { .. } => None,
        }
    }

    /// Whether the step may remove its ticket's `rm_queue_order` rows, which
    /// must then be loaded before the fold.
    pub(super) fn unorders(&self) -> bool {
        matches!(
            self,
            Self::Ticket {
                event: TicketEvent::Assigned { .. } | TicketEvent::StatusChanged { .. },
                ..
            }
        )
    }
}
