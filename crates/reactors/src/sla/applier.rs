//! Choosing each ticket's SLA policy: when a ticket opens or something a
//! policy matches on changes (priority, tags, custom fields), the first
//! enabled matching policy by rank is applied (its current version, with the
//! targets for the ticket's priority). Tickets that were already open when a
//! policy is created get it at their next such change.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tgcrm_domain::Clock;
use tgcrm_domain::sla::policy::choose;
use tgcrm_domain::ticket::{ApplySla, Ticket, TicketCommand};
use tgcrm_projections::Consistency;
use tgcrm_projections::sla::policies;
use tgcrm_store::reader::EventFilter;
use tgcrm_store::{EventStore, StoredEvent};

use crate::reactor::{ReactError, Reactor, StartAt};

pub const NAME: &str = "sla_applier";

pub struct SlaApplier {
    store: EventStore,
    consistency: Consistency,
    clock: Arc<dyn Clock>,
}

impl SlaApplier {
    pub fn new(store: EventStore, consistency: Consistency, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            consistency,
            clock,
        }
    }
}

fn retry(e: impl Into<anyhow::Error>) -> ReactError {
    ReactError::Retry(e.into())
}

#[async_trait]
impl Reactor for SlaApplier {
    fn name(&self) -> &'static str {
        NAME
    }

    fn start_at(&self) -> StartAt {
        // History from before service levels existed is not re-measured.
        StartAt::End
    }

    fn filter(&self) -> EventFilter {
        EventFilter {
            aggregate_type: Some(tgcrm_domain::ticket::AGGREGATE_TYPE.to_owned()),
            event_types: [
                "TicketOpened",
                "PriorityChanged",
                "TagsChanged",
                "FieldsChanged",
            ]
            .into_iter()
            .map(str::to_owned)
            .collect(),
            // It loads the ticket it decides on; the event only names it.
            sealed: true,
            ..EventFilter::default()
        }
    }

    async fn react(&self, event: &StoredEvent) -> Result<(), ReactError> {
        let db = self.store.db();
        // Choose among the policies as they stood when the event happened (or later).
        self.consistency
            .wait_for(
                db,
                &[policies::NAME],
                event.position,
                Duration::from_secs(2),
            )
            .await
            .map_err(retry)?;
        // The policies first: a workspace without any (a small desk's, or
        // every one before its first policy) needs no load of the ticket.
        let candidates = policies::sla_candidates(db, &event.workspace_id)
            .await
            .map_err(retry)?;
        if candidates.is_empty() {
            return Ok(());
        }
        let loaded = tgcrm_store::load::load::<Ticket>(db, &event.aggregate_id)
            .await
            .map_err(retry)?;
        let ticket = loaded.state;
        if !ticket.exists() || !ticket.status.is_active() {
            return Ok(());
        }
        let Some((policy_id, version, definition)) = choose(&ticket, &candidates) else {
            return Ok(());
        };
        let Some(targets) = definition.targets.get(&ticket.priority) else {
            return Ok(());
        };
        let command = TicketCommand::ApplySla(ApplySla {
            policy_id: *policy_id,
            policy_version: *version,
            policy_name: definition.name.as_str().to_owned(),
            calendar: definition.calendar.clone(),
            warning_percent: definition.warning_percent,
            targets: *targets,
        });
        let metadata = super::system_metadata(
            "sla",
            Some(event.event_id.clone()),
            event.correlation_id.clone(),
        );
        super::issue(
            &self.store,
            self.clock.as_ref(),
            &event.workspace_id,
            &event.aggregate_id,
            metadata,
            command,
        )
        .await
        .map_err(ReactError::Retry)?;
        Ok(())
    }
}
