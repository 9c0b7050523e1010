//! The workspace queue (`all`): every unassigned active ticket of the
//! workspace. Its settings are the workspace's: pausing it pauses all
//! distribution, its strategy hands out tickets of no team, its capacity is the
//! default for agents and teams that set none. One per workspace, with the
//! workspace name as its id; it comes into being with its first change.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{QueueChange, QueueCommand, QueueError, QueueSettings};
use crate::ids::{TicketId, WorkspaceId};
use crate::routing::Strategy;

/// Frozen aggregate type name.
pub const AGGREGATE_TYPE: &str = "workspace_queue";
pub const EVENT_VERSION: &str = "1.0";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkspaceQueueCommand {
    pub workspace_id: WorkspaceId,
    pub command: QueueCommand,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WorkspaceQueueEvent {
    #[serde(rename = "WorkspaceQueueOpened")]
    Opened {
        workspace_id: WorkspaceId,
        at: DateTime<Utc>,
    },
    #[serde(rename = "WorkspaceQueuePaused")]
    Paused { at: DateTime<Utc> },
    #[serde(rename = "WorkspaceQueueResumed")]
    Resumed { at: DateTime<Utc> },
    #[serde(rename = "WorkspaceQueueCapacityChanged")]
    CapacityChanged {
        from: Option<u32>,
        to: Option<u32>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "WorkspaceQueueStrategyChanged")]
    StrategyChanged {
        from: Strategy,
        to: Strategy,
        at: DateTime<Utc>,
    },
    #[serde(rename = "WorkspaceQueueReordered")]
    Reordered {
        ticket_id: TicketId,
        #[serde(default)]
        position: Option<u32>,
        order: Vec<TicketId>,
        at: DateTime<Utc>,
    },
}

impl WorkspaceQueueEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Opened { .. } => "WorkspaceQueueOpened",
            Self::Paused { .. } => "WorkspaceQueuePaused",
            Self::Resumed { .. } => "WorkspaceQueueResumed",
            Self::CapacityChanged { .. } => "WorkspaceQueueCapacityChanged",
            Self::StrategyChanged { .. } => "WorkspaceQueueStrategyChanged",
            Self::Reordered { .. } => "WorkspaceQueueReordered",
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Opened { at, .. }
            | Self::Paused { at }
            | Self::Resumed { at }
            | Self::CapacityChanged { at, .. }
            | Self::StrategyChanged { at, .. }
            | Self::Reordered { at, .. } => *at,
        }
    }

    fn of(change: QueueChange, at: DateTime<Utc>) -> Self {
        match change {
            QueueChange::Paused => Self::Paused { at },
            QueueChange::Resumed => Self::Resumed { at },
            QueueChange::CapacityChanged { from, to } => Self::CapacityChanged { from, to, at },
            QueueChange::StrategyChanged { from, to } => Self::StrategyChanged { from, to, at },
            QueueChange::Reordered {
                ticket_id,
                position,
                order,
            } => Self::Reordered {
                ticket_id,
                position,
                order,
                at,
            },
        }
    }

    /// The queue change this event records, if it is one.
    pub fn change(&self) -> Option<QueueChange> {
        Some(match self {
            Self::Opened { .. } => return None,
            Self::Paused { .. } => QueueChange::Paused,
            Self::Resumed { .. } => QueueChange::Resumed,
            Self::CapacityChanged { from, to, .. } => QueueChange::CapacityChanged {
                from: *from,
                to: *to,
            },
            Self::StrategyChanged { from, to, .. } => QueueChange::StrategyChanged {
                from: *from,
                to: *to,
            },
            Self::Reordered {
                ticket_id,
                position,
                order,
                ..
            } => QueueChange::Reordered {
                ticket_id: *ticket_id,
                position: *position,
                order: order.clone(),
            },
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct WorkspaceQueue {
    pub workspace_id: Option<WorkspaceId>,
    pub settings: QueueSettings,
}

impl WorkspaceQueue {
    pub fn decide(
        &self,
        command: WorkspaceQueueCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<WorkspaceQueueEvent>, QueueError> {
        let Some(change) = self.settings.decide(command.command)? else {
            return Ok(vec![]);
        };
        let mut events = Vec::with_capacity(2);
        if self.workspace_id.is_none() {
            events.push(WorkspaceQueueEvent::Opened {
                workspace_id: command.workspace_id,
                at: now,
            });
        }
        events.push(WorkspaceQueueEvent::of(change, now));
        Ok(events)
    }

    pub fn apply(&mut self, event: WorkspaceQueueEvent) {
        if let WorkspaceQueueEvent::Opened { workspace_id, .. } = &event {
            self.workspace_id = Some(workspace_id.clone());
        }
        if let Some(change) = event.change() {
            self.settings.apply(&change);
        }
    }
}

impl cqrs_es::DomainEvent for WorkspaceQueueEvent {
    fn event_type(&self) -> String {
        self.type_name().to_owned()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_owned()
    }
}

crate::cqrs_aggregate!(
    WorkspaceQueue,
    AGGREGATE_TYPE,
    WorkspaceQueueCommand,
    WorkspaceQueueEvent,
    QueueError
);

impl crate::decider::DomainFact for WorkspaceQueueEvent {
    fn at(&self) -> DateTime<Utc> {
        WorkspaceQueueEvent::at(self)
    }
}

impl crate::decider::Refusal for QueueError {
    fn is_not_found(&self) -> bool {
        false
    }
}

impl crate::decider::Decider for WorkspaceQueue {
    type Fact = WorkspaceQueueEvent;
    type Cmd = WorkspaceQueueCommand;
    type Refused = QueueError;

    fn decide(
        &self,
        command: WorkspaceQueueCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<WorkspaceQueueEvent>, QueueError> {
        WorkspaceQueue::decide(self, command, now)
    }

    fn evolve(&mut self, event: WorkspaceQueueEvent) {
        WorkspaceQueue::apply(self, event);
    }

    fn workspace(&self) -> Option<&WorkspaceId> {
        self.workspace_id.as_ref()
    }
}
