//! The event log against real databases, the same test body on Postgres and
//! SQLite: appends and loads through the ticket command handler, optimistic
//! concurrency and its retries, snapshots, the append-only guard, metadata
//! columns, the ordered global reader, API tokens, and the cqrs-es
//! repositories reading what we write.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aggregate_cache;
mod announce;
mod append;
mod concurrency;
mod copy_in;
mod key_cache;
mod read_plans;
mod reader;
mod repositories;
mod snapshots;
mod tokens;

use chrono::{DateTime, TimeZone, Utc};
use tgcrm_domain::TicketId;
use tgcrm_domain::ticket::{Ticket, TicketCommand};
use tgcrm_domain::{Clock, ManualClock};
use tgcrm_store::EventStore;
use tgcrm_store::tickets::{CommandOutcome, execute};
use tgcrm_testkit::fixtures::{ctx, open};

pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap()
}

pub fn clock() -> ManualClock {
    ManualClock::new(t0())
}

/// Open a ticket in `workspace` through the command handler.
pub async fn open_ticket(
    store: &EventStore,
    clock: &dyn Clock,
    workspace: &str,
    subject: &str,
) -> (TicketId, CommandOutcome) {
    let id = TicketId::new();
    let out = execute(
        store,
        clock,
        &id,
        &ctx(workspace),
        TicketCommand::Open(open(workspace, id, subject)),
    )
    .await
    .unwrap();
    (id, out)
}

/// Run `command` on ticket `id` in workspace `acme`; it must succeed.
pub async fn run(
    store: &EventStore,
    clock: &dyn Clock,
    id: &TicketId,
    command: TicketCommand,
) -> CommandOutcome {
    execute(store, clock, id, &ctx("acme"), command)
        .await
        .unwrap()
}

/// A ticket folded from every event of its stream, read through the global reader's decoding.
pub async fn fold_stream(db: &tgcrm_store::Db, id: &TicketId) -> (Ticket, i64) {
    let events = tgcrm_store::reader::read_stream(
        db,
        tgcrm_domain::ticket::AGGREGATE_TYPE,
        &id.to_string(),
        0,
        100_000,
    )
    .await
    .unwrap();
    let mut state = Ticket::default();
    let mut version = 0;
    for e in &events {
        state.apply(e.ticket_event().unwrap().unwrap());
        version = e.sequence;
    }
    (state, version)
}

/// A write to ticket `id` of workspace `acme` after `expected_sequence`, no snapshot.
pub fn ticket_write<'a>(
    id: &'a str,
    meta: &'a tgcrm_store::Metadata,
    expected_sequence: i64,
) -> tgcrm_store::append::StreamWrite<'a> {
    tgcrm_store::append::StreamWrite {
        aggregate_type: "ticket",
        aggregate_id: id,
        workspace_id: "acme",
        expected_sequence,
        metadata: meta,
        snapshot: None,
        live_subject: None,
    }
}

/// Erase customer 42 ("Ada") of workspace `acme`, as an admin of another
/// process would.
pub async fn erase_customer_42(db: &tgcrm_store::Db, clock: &dyn Clock) {
    let meta = tgcrm_store::Metadata::new("token:admin", tgcrm_store::Source::Api);
    let subject = tgcrm_store::personal::subject_for(42);
    tgcrm_store::personal::erase(db, "acme", &subject, 42, &meta, clock.now())
        .await
        .unwrap();
}
