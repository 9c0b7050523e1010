//! A help desk to drive (commands through the real store with a manual
//! clock) and projectors brought up to date on demand.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use tgcrm_domain::ticket::{OpenTicket, TicketCommand};
use tgcrm_domain::{ManualClock, TicketId};
use tgcrm_projections::Projector;
use tgcrm_projections::conversation::ConversationProjector;
use tgcrm_projections::runner::{apply_batch, prepare};
use tgcrm_projections::ticket_list::TicketListProjector;
use tgcrm_store::tickets::{CommandOutcome, execute};
use tgcrm_store::{Db, EventStore, Position};
use tgcrm_testkit::fixtures::{ctx, newest, open};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
}

pub fn ticket_list() -> Arc<dyn Projector> {
    Arc::new(TicketListProjector)
}

pub fn conversation() -> Arc<dyn Projector> {
    Arc::new(ConversationProjector)
}

/// Commands through the real store, at the time of a manual clock.
pub struct Desk {
    pub store: EventStore,
    pub clock: ManualClock,
}

impl Desk {
    pub fn new(db: &Db) -> Self {
        Self {
            store: EventStore::new(db.clone()),
            clock: ManualClock::new(t0()),
        }
    }

    /// Open a ticket in `workspace`, adjusted by `adjust`.
    pub async fn open(
        &self,
        workspace: &str,
        subject: &str,
        adjust: impl FnOnce(&mut OpenTicket),
    ) -> TicketId {
        let id = TicketId::new();
        let mut command = open(workspace, id, subject);
        adjust(&mut command);
        self.run(workspace, id, TicketCommand::Open(command)).await;
        id
    }

    pub async fn run(
        &self,
        workspace: &str,
        id: TicketId,
        command: TicketCommand,
    ) -> CommandOutcome {
        execute(&self.store, &self.clock, &id, &ctx(workspace), command)
            .await
            .unwrap_or_else(|e| panic!("command on {id} refused: {e}"))
    }
}

/// Bring `projector` (tables, version, rows) up to the newest committed event.
pub async fn catch_up(db: &Db, projector: &dyn Projector) -> Position {
    let target = newest(db).await;
    let mut at = prepare(db, projector, Utc::now()).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while at < target {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} did not catch up with {target}",
            projector.name()
        );
        match apply_batch(db, projector, at, 7, Utc::now()).await.unwrap() {
            Some((last, _)) => at = last,
            // Held back by an older transaction elsewhere on the cluster.
            None => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
    at
}

/// The ticket list and the conversation, up to date.
pub async fn project(db: &Db) {
    catch_up(db, ticket_list().as_ref()).await;
    catch_up(db, conversation().as_ref()).await;
}

/// Every row of the two projections' tables, all columns.
pub async fn dump(db: &Db) -> Vec<Vec<String>> {
    use tgcrm_testkit::fixtures::dump_table;
    vec![
        dump_table(db, "rm_tickets", "ticket_id").await,
        dump_table(db, "rm_ticket_tags", "ticket_id, tag").await,
        dump_table(db, "rm_messages", "message_id").await,
    ]
}
