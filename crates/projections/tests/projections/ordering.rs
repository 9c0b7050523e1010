//! The ordered global reader never skips an event whose transaction commits
//! late (DESIGN.md §3). Many writers append on many tickets, each holding its
//! transaction open for a random while between INSERT and COMMIT, so
//! positions commit out of order, while the projectors run live. Afterwards
//! the live projections must equal a from-scratch rebuild, agree with a fold
//! of each ticket's stream, and hold exactly the log's messages. A naive
//! `position > last` reader runs alongside to show what the rule prevents.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tgcrm_domain::ticket::{Author, MessageVisibility, Ticket, TicketCommand, TicketEvent, decide};
use tgcrm_domain::values::Priority;
use tgcrm_domain::{Clock, TicketId};
use tgcrm_projections::Consistency;
use tgcrm_projections::runner::{self, RunnerConfig};
use tgcrm_store::append::{StreamWrite, append_in};
use tgcrm_store::reader::read_stream;
use tgcrm_store::shutdown::stop_signal;
use tgcrm_store::{Db, EventStore, Metadata, Source, SystemClock, args};
use tgcrm_testkit::fixtures::{add_message, count, customer, new_events, newest, open, tags};

use crate::support::{conversation, dump, ticket_list};

const WRITERS: usize = 16;
const TICKETS_PER_WRITER: usize = 10;
/// Appends per ticket after the one that opens it.
const REPLIES_PER_TICKET: usize = 4;

/// Append `events` to ticket `id` after `expected`, holding the transaction
/// open for 0–30 ms between the INSERT and the COMMIT.
async fn slow_append(db: &Db, id: &str, expected: i64, events: &[TicketEvent]) {
    let meta = Metadata::new("test:writer", Source::System);
    let write = StreamWrite {
        aggregate_type: tgcrm_domain::ticket::AGGREGATE_TYPE,
        aggregate_id: id,
        workspace_id: "acme",
        expected_sequence: expected,
        metadata: &meta,
        snapshot: None,
        live_subject: None,
    };
    let mut tx = db.begin().await.unwrap();
    append_in(&mut tx, &write, &new_events(events))
        .await
        .unwrap();
    let pause = rand::thread_rng().gen_range(0..=30);
    tokio::time::sleep(Duration::from_millis(pause)).await;
    tx.commit().await.unwrap();
}

/// One writer: opens its tickets, then replies to them round-robin, deciding
/// each append with the domain so the projectors see real ticket events.
async fn writer(db: Db, store: EventStore, w: usize) {
    let clock = SystemClock;
    let mut tickets: Vec<(TicketId, Ticket, i64)> = Vec::new();
    for n in 0..TICKETS_PER_WRITER {
        let id = TicketId::new();
        let mut command = open("acme", id, &format!("writer {w} ticket {n}"));
        command.customer = customer(1_000 + w as i64, "Customer");
        command.priority = Priority::ALL[n % Priority::ALL.len()];
        command.tags = tags(&[&format!("writer-{w}"), ["odd", "even"][n % 2]]);
        let state = Ticket::default();
        let events = decide(&state, TicketCommand::Open(command), clock.now()).unwrap();
        slow_append(&db, &id.to_string(), 0, &events).await;
        store.notify_appended();
        tickets.push((id, Ticket::from_events(&events), events.len() as i64));
    }
    for r in 0..REPLIES_PER_TICKET {
        for (id, state, version) in &mut tickets {
            let (author, visibility) = match r % 3 {
                0 => (Author::Customer, MessageVisibility::Public),
                1 => (
                    Author::Staff {
                        token_id: format!("token:{w}"),
                    },
                    MessageVisibility::Public,
                ),
                _ => (
                    Author::Staff {
                        token_id: format!("token:{w}"),
                    },
                    MessageVisibility::Internal,
                ),
            };
            let command =
                TicketCommand::AddMessage(add_message(author, visibility, &format!("reply {r}")));
            let events = decide(state, command, clock.now()).unwrap();
            slow_append(&db, &id.to_string(), *version, &events).await;
            store.notify_appended();
            for e in events {
                state.apply(e);
                *version += 1;
            }
        }
    }
}

/// A reader that trusts `position > last`; returns the positions it saw.
async fn naive_reader(db: Db, stopped: tgcrm_store::shutdown::Stop) -> BTreeSet<i64> {
    #[derive(sqlx::FromRow)]
    struct P {
        position: i64,
    }
    let mut last = 0_i64;
    let mut seen = BTreeSet::new();
    while !stopped.is_stopped() {
        let rows: Vec<P> = db
            .fetch_all(
                "SELECT position FROM events WHERE position > $1 ORDER BY position LIMIT 500",
                args![last],
            )
            .await
            .unwrap();
        for r in rows {
            seen.insert(r.position);
            last = r.position;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    seen
}

#[derive(sqlx::FromRow, Debug)]
struct TicketRow {
    ticket_id: String,
    status: String,
    priority: String,
    message_count: i64,
    version: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn live_projections_under_late_commits_equal_a_rebuild() {
    let test_db = tgcrm_testkit::postgres().await;
    let db = test_db.db.clone();
    // The writers are "other processes": a pool of their own.
    let writers_db = test_db.connect_again().await;
    let store = EventStore::new(db.clone());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let consistency = Consistency::default();
    let (stop, stopped) = stop_signal();
    let config = RunnerConfig {
        batch_size: 50,
        poll_interval: Duration::from_millis(10),
    };
    let runners: Vec<_> = [ticket_list(), conversation()]
        .into_iter()
        .map(|p| {
            tokio::spawn(runner::run(
                store.clone(),
                p,
                consistency.clone(),
                clock.clone(),
                config,
                stopped.clone(),
            ))
        })
        .collect();
    let (naive_stop, naive_stopped) = stop_signal();
    let naive = tokio::spawn(naive_reader(db.clone(), naive_stopped));

    let writers: Vec<_> = (0..WRITERS)
        .map(|w| tokio::spawn(writer(writers_db.clone(), store.clone(), w)))
        .collect();
    for w in writers {
        w.await.unwrap();
    }

    // Every writer has committed: the newest event is the end of the log.
    let end = newest(&db).await;
    consistency
        .wait_for(
            &db,
            &["ticket_list", "conversation"],
            end,
            Duration::from_secs(30),
        )
        .await
        .expect("the live projections reach the end of the log");
    stop.stop();
    for r in runners {
        tokio::time::timeout(Duration::from_secs(10), r)
            .await
            .expect("runners stop when asked")
            .unwrap();
    }
    // Let the naive reader have its last look, then stop it.
    tokio::time::sleep(Duration::from_millis(50)).await;
    naive_stop.stop();
    let naive_seen = naive.await.unwrap();

    let tickets = (WRITERS * TICKETS_PER_WRITER) as i64;
    let events_in_log = count(&db, "SELECT COUNT(*) AS n FROM events", vec![]).await;
    let opened = count(
        &db,
        "SELECT COUNT(*) AS n FROM events WHERE event_type = 'TicketOpened'",
        vec![],
    )
    .await;
    let added = count(
        &db,
        "SELECT COUNT(*) AS n FROM events WHERE event_type = 'MessageAdded'",
        vec![],
    )
    .await;
    assert_eq!(opened, tickets);
    assert_eq!(added, tickets * (1 + REPLIES_PER_TICKET as i64));

    let live = dump(&db).await;
    assert_eq!(
        live[0].len() as i64,
        opened,
        "every ticket is in the live list"
    );
    assert_eq!(
        live[2].len() as i64,
        added,
        "every MessageAdded is in the live conversation"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM rm_messages", vec![]).await,
        added
    );

    // The live rows agree with a fold of each ticket's own stream.
    let rows: Vec<TicketRow> = db
        .fetch_all(
            "SELECT ticket_id, status, priority, message_count, version FROM rm_tickets",
            vec![],
        )
        .await
        .unwrap();
    let mut folded = BTreeMap::new();
    for row in &rows {
        let stream = read_stream(&db, "ticket", &row.ticket_id, 0, 1_000)
            .await
            .unwrap();
        let state = Ticket::from_events(
            &stream
                .iter()
                .map(|e| e.ticket_event().unwrap().unwrap())
                .collect::<Vec<_>>(),
        );
        assert_eq!(row.message_count, state.message_count as i64, "{row:?}");
        assert_eq!(row.version, stream.last().unwrap().sequence, "{row:?}");
        assert_eq!(row.status, state.status.as_str(), "{row:?}");
        assert_eq!(row.priority, state.priority.as_str(), "{row:?}");
        folded.insert(row.ticket_id.clone(), state);
    }
    assert_eq!(folded.len() as i64, tickets);

    // A from-scratch rebuild gives exactly the live rows, every column.
    wait_for_no_projector_locks(&db).await;
    for p in [ticket_list(), conversation()] {
        let report = tgcrm_projections::rebuild::rebuild(&db, p.as_ref(), clock.as_ref(), false)
            .await
            .unwrap();
        assert_eq!(report.events as i64, events_in_log);
    }
    let rebuilt = dump(&db).await;
    assert_eq!(
        live, rebuilt,
        "the live projection equals a from-scratch rebuild"
    );

    let skipped = events_in_log - naive_seen.len() as i64;
    eprintln!(
        "a naive `position > last` reader skipped {skipped} of {events_in_log} events; \
         the ordered reader skipped none"
    );
    test_db.finish().await;
}

/// A stopped runner's lock is released when the server notices its
/// connection closed; `rebuild` must not find it still held (it would then
/// wait for a runner that is gone).
async fn wait_for_no_projector_locks(db: &Db) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let held = count(
            db,
            "SELECT COUNT(*) AS n FROM pg_locks WHERE locktype = 'advisory' \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            vec![],
        )
        .await;
        if held == 0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "projector locks still held"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
