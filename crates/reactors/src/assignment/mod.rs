//! Automatic assignment: on every event that can put a ticket in a queue or
//! free an agent's capacity (a ticket opened, moved, released, resolved or
//! reopened; an agent online, changed, reactivated; a queue resumed or given
//! more capacity), hand out the workspace's waiting tickets, in queue order,
//! to the agents the routing chooses, until nobody fits.
//!
//! Decisions read the read models, and only once the projectors behind them
//! have passed every event committed when the reaction started (the trigger
//! and the reactor's own earlier assignments included), so a load count is
//! never stale. One process runs the reactor (its runner holds an advisory
//! lock); the ticket refuses an automatic assignment unless it is still
//! waiting where the decision found it, so a ticket is never handed out twice.
//! Assignments are ordinary commands: actor `system:assignment`, source
//! `system`, causation the triggering event.

mod leads;
mod pass;

pub use leads::TeamLeadsFromTeams;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use tgcrm_domain::Clock;
use tgcrm_projections::Consistency;
use tgcrm_store::reader::{EventFilter, newest};
use tgcrm_store::{EventStore, Position, StoredEvent};

use crate::reactor::{ReactError, Reactor, StartAt};

/// The actor recorded on automatic assignments.
pub const ACTOR: &str = "system:assignment";

/// The projectors whose tables decisions read.
pub const READS: &[&str] = &[
    tgcrm_projections::agents::NAME,
    tgcrm_projections::teams::NAME,
    tgcrm_projections::queue::NAME,
];

/// The events that can make a ticket assignable or an agent available.
pub const TRIGGERS: &[&str] = &[
    "TicketOpened",
    "TicketAssigned",
    "TicketUnassigned",
    "StatusChanged",
    "TagsChanged",
    "AgentRegistered",
    "AgentProfileChanged",
    "AgentAvailabilityChanged",
    "AgentReactivated",
    "TeamStrategyChanged",
    "TeamCapacityChanged",
    "TeamQueueResumed",
    "WorkspaceQueueStrategyChanged",
    "WorkspaceQueueCapacityChanged",
    "WorkspaceQueueResumed",
];

pub struct AssignmentReactor {
    store: EventStore,
    clock: Arc<dyn Clock>,
    consistency: Consistency,
    /// How long to wait for the read models before trying the event again.
    catch_up: Duration,
    /// Per workspace, the log position the last distribution had caught up
    /// with: an event at or before it was already taken into account.
    seen: Mutex<HashMap<String, Position>>,
}

impl AssignmentReactor {
    pub fn new(store: EventStore, clock: Arc<dyn Clock>, consistency: Consistency) -> Self {
        Self {
            store,
            clock,
            consistency,
            catch_up: Duration::from_secs(10),
            seen: Mutex::new(HashMap::new()),
        }
    }

    fn seen(&self, workspace: &str) -> Option<Position> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(workspace)
            .copied()
    }

    fn mark_seen(&self, workspace: &str, position: Position) {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = seen.entry(workspace.to_owned()).or_insert(position);
        if *entry < position {
            *entry = position;
        }
    }
}

fn retry(e: impl Into<anyhow::Error>) -> ReactError {
    ReactError::Retry(e.into())
}

#[async_trait]
impl Reactor for AssignmentReactor {
    fn name(&self) -> &'static str {
        "assignment"
    }

    fn start_at(&self) -> StartAt {
        // From the beginning, so nothing that happened before the first start
        // is missed; the first reaction per workspace covers all of history.
        StartAt::Beginning
    }

    fn filter(&self) -> EventFilter {
        EventFilter {
            event_types: TRIGGERS.iter().map(|t| (*t).to_owned()).collect(),
            // Who gets a ticket depends on nothing personal.
            sealed: true,
            ..EventFilter::default()
        }
    }

    async fn react(&self, event: &StoredEvent) -> Result<(), ReactError> {
        if event.actor == ACTOR {
            // Our own assignments take capacity; they free none.
            return Ok(());
        }
        let workspace = event.workspace_id.as_str();
        if self.seen(workspace).is_some_and(|p| p >= event.position) {
            return Ok(());
        }
        let db = self.store.db();
        let target = newest(db).await.map_err(retry)?.max(event.position);
        self.consistency
            .wait_for(db, READS, target, self.catch_up)
            .await
            .map_err(retry)?;
        pass::distribute(&self.store, self.clock.as_ref(), workspace, event)
            .await
            .map_err(ReactError::Retry)?;
        self.mark_seen(workspace, target);
        Ok(())
    }
}
