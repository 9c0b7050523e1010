//! Concurrent commands on one ticket: in one process they take turns; across
//! processes a lost race for a version is reloaded, decided again and retried
//! inside the handler, so every command lands and the stream has no gaps.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use chrono::{DateTime, Utc};
use tgcrm_domain::ticket::MessageVisibility;
use tgcrm_domain::{Clock, ManualClock, TicketId};
use tgcrm_store::reader::read_stream;
use tgcrm_store::tickets::execute;
use tgcrm_store::{Db, EventStore};
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::{ctx, staff_says};

use crate::{clock, open_ticket, t0};

/// Send `n` replies to ticket `id` at once, spread over `stores` (each an
/// event store handle of its own, like separate server processes).
async fn reply_concurrently(stores: &[EventStore], id: TicketId, n: usize) {
    let tasks: Vec<_> = (0..n)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            tokio::spawn(async move {
                let clock = ManualClock::new(t0());
                execute(
                    &store,
                    &clock,
                    &id,
                    &ctx("acme"),
                    staff_says(MessageVisibility::Public, &format!("reply {i}")),
                )
                .await
            })
        })
        .collect();
    for (i, t) in tasks.into_iter().enumerate() {
        let out = t.await.unwrap();
        assert!(out.is_ok(), "reply {i} failed: {:?}", out.err());
    }
}

/// The stream must be TicketOpened, then `messages` MessageAdded, sequences 1..N.
async fn assert_gapless(db: &Db, id: &TicketId, messages: usize) {
    let stream = read_stream(db, "ticket", &id.to_string(), 0, 1_000)
        .await
        .unwrap();
    let sequences: Vec<i64> = stream.iter().map(|e| e.sequence).collect();
    assert_eq!(sequences, (1..=1 + messages as i64).collect::<Vec<_>>());
    assert_eq!(
        stream
            .iter()
            .filter(|e| e.event_type == "MessageAdded")
            .count(),
        messages
    );
    let mut texts: Vec<String> = stream
        .iter()
        .skip(2)
        .map(|e| {
            e.payload["MessageAdded"]["text"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    texts.sort();
    let mut expected: Vec<String> = (0..messages - 1).map(|i| format!("reply {i}")).collect();
    expected.sort();
    assert_eq!(texts, expected, "every reply landed exactly once");
}

both_backends!(
    twenty_concurrent_replies_in_one_process_all_land_without_gaps,
    |db: Db| async move {
        let store = EventStore::new(db.clone());
        let (id, _) = open_ticket(&store, &clock(), "acme", "Busy ticket").await;
        reply_concurrently(std::slice::from_ref(&store), id, 20).await;
        assert_gapless(&db, &id, 21).await;
    }
);

both_backends!(
    concurrent_replies_from_two_processes_are_retried_until_they_land,
    |db: Db| async move {
        let stores = [EventStore::new(db.clone()), EventStore::new(db.clone())];
        let (id, _) = open_ticket(&stores[0], &clock(), "acme", "Busy ticket").await;
        reply_concurrently(&stores, id, 20).await;
        assert_gapless(&db, &id, 21).await;
    }
);

/// A clock that, the first time it is asked (between the handler's load and
/// its append), has another process reply to the same ticket.
#[derive(Debug)]
struct InterferingClock {
    db: Db,
    ticket: TicketId,
    fired: Arc<AtomicBool>,
}

impl Clock for InterferingClock {
    fn now(&self) -> DateTime<Utc> {
        if !self.fired.swap(true, Ordering::SeqCst) {
            let db = self.db.clone();
            let ticket = self.ticket;
            // Another process: its own thread, runtime, pool and event store.
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let other = match &db {
                        Db::Postgres(p, _) => Db::from_pg(
                            sqlx::postgres::PgPoolOptions::new()
                                .max_connections(1)
                                .connect_with((*p.connect_options()).clone())
                                .await
                                .unwrap(),
                        ),
                        Db::Sqlite(p, _) => Db::from_sqlite(
                            sqlx::sqlite::SqlitePoolOptions::new()
                                .max_connections(1)
                                .connect_with((*p.connect_options()).clone())
                                .await
                                .unwrap(),
                        ),
                    };
                    execute(
                        &EventStore::new(other.clone()),
                        &ManualClock::new(t0()),
                        &ticket,
                        &ctx("acme"),
                        staff_says(MessageVisibility::Public, "the other process"),
                    )
                    .await
                    .unwrap();
                    other.close().await;
                });
            })
            .join()
            .unwrap();
        }
        t0()
    }
}

both_backends!(
    a_write_that_slips_in_between_load_and_append_is_decided_again,
    |db: Db| async move {
        let store = EventStore::new(db.clone());
        let (id, _) = open_ticket(&store, &clock(), "acme", "Contested").await;
        let clock = InterferingClock {
            db: db.clone(),
            ticket: id,
            fired: Arc::new(AtomicBool::new(false)),
        };
        let out = execute(
            &store,
            &clock,
            &id,
            &ctx("acme"),
            staff_says(MessageVisibility::Public, "this process"),
        )
        .await
        .unwrap();
        assert!(clock.fired.load(Ordering::SeqCst));
        assert_eq!(out.version, 4, "decided again on top of the other write");
        assert_eq!(out.state.message_count, 3);
        let stream = read_stream(&db, "ticket", &id.to_string(), 0, 100)
            .await
            .unwrap();
        let texts: Vec<&str> = stream[1..]
            .iter()
            .map(|e| e.payload["MessageAdded"]["text"].as_str().unwrap())
            .collect();
        assert_eq!(texts, ["hello", "the other process", "this process"]);
    }
);
