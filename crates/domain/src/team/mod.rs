//! A team: a named group of agents with a queue of its own. Membership is a
//! fact about the agent (an agent's profile names their teams), so it has one
//! record; the team holds its name, its lead and its queue's settings
//! (strategy, paused, default capacity, manual order).

mod aggregate;
mod decide;
#[cfg(test)]
mod tests;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, TeamId, TicketId, WorkspaceId};
use crate::queue::{QueueChange, QueueCommand, QueueError, QueueSettings};
use crate::routing::Strategy;
use crate::values::ResourceName;

/// Frozen aggregate type name.
pub const AGGREGATE_TYPE: &str = "team";
pub const EVENT_VERSION: &str = "1.0";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TeamCommand {
    Create {
        team_id: TeamId,
        workspace_id: WorkspaceId,
        name: ResourceName,
        strategy: Strategy,
        default_capacity: Option<u32>,
        lead: Option<AgentId>,
    },
    /// Change what is given; the rest stays.
    Update(TeamUpdate),
    Queue(QueueCommand),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TeamUpdate {
    pub name: Option<ResourceName>,
    /// `Some(None)` removes the lead.
    pub lead: Option<Option<AgentId>>,
    pub strategy: Option<Strategy>,
    /// `Some(None)` clears the default capacity.
    pub default_capacity: Option<Option<u32>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TeamEvent {
    #[serde(rename = "TeamCreated")]
    Created {
        team_id: TeamId,
        workspace_id: WorkspaceId,
        name: ResourceName,
        strategy: Strategy,
        #[serde(default)]
        default_capacity: Option<u32>,
        #[serde(default)]
        lead: Option<AgentId>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "TeamRenamed")]
    Renamed {
        from: ResourceName,
        to: ResourceName,
        at: DateTime<Utc>,
    },
    #[serde(rename = "TeamLeadChanged")]
    LeadChanged {
        from: Option<AgentId>,
        to: Option<AgentId>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "TeamStrategyChanged")]
    StrategyChanged {
        from: Strategy,
        to: Strategy,
        at: DateTime<Utc>,
    },
    #[serde(rename = "TeamCapacityChanged")]
    CapacityChanged {
        from: Option<u32>,
        to: Option<u32>,
        at: DateTime<Utc>,
    },
    #[serde(rename = "TeamQueuePaused")]
    QueuePaused { at: DateTime<Utc> },
    #[serde(rename = "TeamQueueResumed")]
    QueueResumed { at: DateTime<Utc> },
    /// `order` is the queue's whole manual order afterwards; `position` where
    /// the ticket was put (`None`: released to the default order).
    #[serde(rename = "TeamQueueReordered")]
    QueueReordered {
        ticket_id: TicketId,
        #[serde(default)]
        position: Option<u32>,
        order: Vec<TicketId>,
        at: DateTime<Utc>,
    },
}

impl TeamEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Created { .. } => "TeamCreated",
            Self::Renamed { .. } => "TeamRenamed",
            Self::LeadChanged { .. } => "TeamLeadChanged",
            Self::StrategyChanged { .. } => "TeamStrategyChanged",
            Self::CapacityChanged { .. } => "TeamCapacityChanged",
            Self::QueuePaused { .. } => "TeamQueuePaused",
            Self::QueueResumed { .. } => "TeamQueueResumed",
            Self::QueueReordered { .. } => "TeamQueueReordered",
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Created { at, .. }
            | Self::Renamed { at, .. }
            | Self::LeadChanged { at, .. }
            | Self::StrategyChanged { at, .. }
            | Self::CapacityChanged { at, .. }
            | Self::QueuePaused { at }
            | Self::QueueResumed { at }
            | Self::QueueReordered { at, .. } => *at,
        }
    }

    fn of(change: QueueChange, at: DateTime<Utc>) -> Self {
        match change {
            QueueChange::Paused => Self::QueuePaused { at },
            QueueChange::Resumed => Self::QueueResumed { at },
            QueueChange::CapacityChanged { from, to } => Self::CapacityChanged { from, to, at },
            QueueChange::StrategyChanged { from, to } => Self::StrategyChanged { from, to, at },
            QueueChange::Reordered {
                ticket_id,
                position,
                order,
            } => Self::QueueReordered {
                ticket_id,
                position,
                order,
                at,
            },
        }
    }

    /// The queue change this event records, if it is one.
    pub fn queue_change(&self) -> Option<QueueChange> {
        Some(match self {
            Self::Created { .. } | Self::Renamed { .. } | Self::LeadChanged { .. } => return None,
            Self::StrategyChanged { from, to, .. } => QueueChange::StrategyChanged {
                from: *from,
                to: *to,
            },
            Self::CapacityChanged { from, to, .. } => QueueChange::CapacityChanged {
                from: *from,
                to: *to,
            },
            Self::QueuePaused { .. } => QueueChange::Paused,
            Self::QueueResumed { .. } => QueueChange::Resumed,
            Self::QueueReordered {
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

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TeamError {
    #[error("the team does not exist")]
    NotFound,
    #[error(transparent)]
    Queue(#[from] QueueError),
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Team {
    pub id: Option<TeamId>,
    pub workspace_id: Option<WorkspaceId>,
    pub name: Option<ResourceName>,
    pub lead: Option<AgentId>,
    pub queue: QueueSettings,
    pub created_at: Option<DateTime<Utc>>,
}

impl Team {
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    pub fn apply(&mut self, event: TeamEvent) {
        if let Some(change) = event.queue_change() {
            self.queue.apply(&change);
            return;
        }
        match event {
            TeamEvent::Created {
                team_id,
                workspace_id,
                name,
                strategy,
                default_capacity,
                lead,
                at,
            } => {
                self.id = Some(team_id);
                self.workspace_id = Some(workspace_id);
                self.name = Some(name);
                self.lead = lead;
                self.queue = QueueSettings {
                    strategy,
                    default_capacity,
                    ..QueueSettings::default()
                };
                self.created_at = Some(at);
            }
            TeamEvent::Renamed { to, .. } => self.name = Some(to),
            TeamEvent::LeadChanged { to, .. } => self.lead = to,
            _ => {}
        }
    }
}
