//! Queue settings, shared by every queue: a team's, and the workspace queue
//! (`all`), which holds the tickets of no team and whose settings are the
//! workspace's defaults. A queue can be paused (distribution stops; intake
//! goes on), has a distribution strategy, a default capacity per agent, and a
//! manual order: tickets an admin moved or pinned, kept ahead of the default
//! order (priority, then SLA due time, then longest waiting).
//!
//! The workspace queue is an aggregate of its own ([`WorkspaceQueue`], one per
//! workspace); a team's queue lives in the team aggregate.

mod workspace;

#[cfg(test)]
mod tests;

pub use workspace::AGGREGATE_TYPE as WORKSPACE_QUEUE_AGGREGATE_TYPE;
pub use workspace::{
    AGGREGATE_TYPE as WORKSPACE_QUEUE_TYPE, WorkspaceQueue, WorkspaceQueueCommand,
    WorkspaceQueueEvent,
};

use serde::{Deserialize, Serialize};

use crate::ids::TicketId;
use crate::routing::Strategy;

/// Largest per-agent capacity a queue or an agent may set.
pub const MAX_CAPACITY: u32 = 1_000;

/// Where a reordered ticket goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// To this place in the queue (1 = first); beyond the end means last.
    Position(u32),
    /// Back to where the default order puts it.
    Release,
}

/// Move a ticket within the queue. `current` is the queue as it stands (the
/// ticket ids in queue order, read from the queue read model): what the
/// decision needs is in the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reorder {
    pub ticket_id: TicketId,
    pub placement: Placement,
    pub current: Vec<TicketId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueCommand {
    Pause,
    Resume,
    /// The default capacity of the queue's agents; `None` clears it.
    SetCapacity(Option<u32>),
    SetStrategy(Strategy),
    Reorder(Reorder),
}

/// What changed in a queue; each aggregate stores it as an event of its own name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueueChange {
    Paused,
    Resumed,
    CapacityChanged {
        from: Option<u32>,
        to: Option<u32>,
    },
    StrategyChanged {
        from: Strategy,
        to: Strategy,
    },
    /// `order` is the whole manual order afterwards; `position` is where the
    /// ticket was put (`None`: released to the default order).
    Reordered {
        ticket_id: TicketId,
        position: Option<u32>,
        order: Vec<TicketId>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("the ticket is not waiting in this queue")]
    TicketNotQueued,
    #[error("positions start at 1")]
    BadPosition,
    #[error("capacity must be between 1 and {MAX_CAPACITY}")]
    BadCapacity,
}

/// A queue's settings, as its events have shaped them.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct QueueSettings {
    pub paused: bool,
    pub strategy: Strategy,
    pub default_capacity: Option<u32>,
    /// Tickets placed by hand, in order, ahead of the default order. May name
    /// tickets that have left the queue since; they are dropped at the next reorder.
    pub manual_order: Vec<TicketId>,
}

impl QueueSettings {
    /// Decide a queue command: `None` when it changes nothing.
    pub fn decide(&self, command: QueueCommand) -> Result<Option<QueueChange>, QueueError> {
        Ok(match command {
            QueueCommand::Pause => (!self.paused).then_some(QueueChange::Paused),
            QueueCommand::Resume => self.paused.then_some(QueueChange::Resumed),
            QueueCommand::SetCapacity(to) => {
                if to.is_some_and(|c| c == 0 || c > MAX_CAPACITY) {
                    return Err(QueueError::BadCapacity);
                }
                (to != self.default_capacity).then_some(QueueChange::CapacityChanged {
                    from: self.default_capacity,
                    to,
                })
            }
            QueueCommand::SetStrategy(to) => {
                (to != self.strategy).then_some(QueueChange::StrategyChanged {
                    from: self.strategy,
                    to,
                })
            }
            QueueCommand::Reorder(r) => {
                let ticket_id = r.ticket_id;
                let position = match r.placement {
                    Placement::Position(0) => return Err(QueueError::BadPosition),
                    Placement::Position(p) => Some(p),
                    Placement::Release => None,
                };
                let before: Vec<TicketId> = self
                    .manual_order
                    .iter()
                    .filter(|t| r.current.contains(t))
                    .copied()
                    .collect();
                let order = manual_order_after(&self.manual_order, r)?;
                (order != before).then_some(QueueChange::Reordered {
                    ticket_id,
                    position,
                    order,
                })
            }
        })
    }

    pub fn apply(&mut self, change: &QueueChange) {
        match change {
            QueueChange::Paused => self.paused = true,
            QueueChange::Resumed => self.paused = false,
            QueueChange::CapacityChanged { to, .. } => self.default_capacity = *to,
            QueueChange::StrategyChanged { to, .. } => self.strategy = *to,
            QueueChange::Reordered { order, .. } => self.manual_order = order.clone(),
        }
    }
}

/// The manual order after a reorder. Tickets placed by hand before keep their
/// relative places; moving a ticket to position `p` also keeps the tickets
/// ahead of it where they are (they join the manual order), so the ticket
/// stays at `p` as new tickets arrive.
fn manual_order_after(manual: &[TicketId], r: Reorder) -> Result<Vec<TicketId>, QueueError> {
    if !r.current.contains(&r.ticket_id) {
        return Err(QueueError::TicketNotQueued);
    }
    let placed: Vec<TicketId> = manual
        .iter()
        .filter(|t| **t != r.ticket_id && r.current.contains(t))
        .copied()
        .collect();
    let Placement::Position(p) = r.placement else {
        return Ok(placed);
    };
    let mut order = placed.clone();
    order.extend(
        r.current
            .iter()
            .filter(|t| **t != r.ticket_id && !placed.contains(t)),
    );
    let at = usize::try_from(p.saturating_sub(1))
        .unwrap_or(usize::MAX)
        .min(order.len());
    order.insert(at, r.ticket_id);
    order.truncate(at.max(placed.len()) + 1);
    Ok(order)
}
