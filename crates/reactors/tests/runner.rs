//! The reactor runner: a reactor that reads only some events still moves its
//! checkpoint to the log's head, so it never looks behind when it is not, and
//! it handles each event it reads once, in order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tgcrm_domain::ticket::TicketCommand;
use tgcrm_domain::values::Status;
use tgcrm_domain::{Clock, ManualClock, TicketId};
use tgcrm_reactors::reactor::{ReactError, Reactor};
use tgcrm_reactors::runner::{ReactorConfig, run};
use tgcrm_store::reader::EventFilter;
use tgcrm_store::shutdown::stop_signal;
use tgcrm_store::tickets::execute;
use tgcrm_store::{Db, EventStore, StoredEvent, checkpoints};
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::{ctx, newest, open};

/// Remembers the tickets it saw opened.
#[derive(Default)]
struct Openings(Mutex<Vec<String>>);

#[async_trait]
impl Reactor for Openings {
    fn name(&self) -> &'static str {
        "openings"
    }

    fn filter(&self) -> EventFilter {
        EventFilter {
            event_types: vec!["TicketOpened".into()],
            ..EventFilter::default()
        }
    }

    async fn react(&self, event: &StoredEvent) -> Result<(), ReactError> {
        self.0.lock().unwrap().push(event.aggregate_id.clone());
        Ok(())
    }
}

/// Open a ticket of workspace "acme".
async fn open_ticket(store: &EventStore, clock: &ManualClock, subject: &str) -> TicketId {
    let id = TicketId::new();
    execute(
        store,
        clock,
        &id,
        &ctx("acme"),
        TicketCommand::Open(open("acme", id, subject)),
    )
    .await
    .unwrap();
    id
}

/// Wait until the reactor's checkpoint stands on `at`.
async fn wait_for_checkpoint(db: &Db, reactor: &str, at: tgcrm_store::Position, what: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let now = checkpoints::load(db, &format!("reactor:{reactor}"))
            .await
            .unwrap()
            .map(|c| c.position);
        if now == Some(at) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the checkpoint stayed at {now:?}, short of {what} {at}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

both_backends!(
    a_filtered_reactor_reaches_the_head_past_events_it_does_not_read,
    |db: Db| async move {
        let store = EventStore::new(db.clone());
        let clock = ManualClock::new(chrono::Utc::now());
        let mut opened = Vec::new();
        for subject in ["one", "two"] {
            let id = open_ticket(&store, &clock, subject).await;
            // A tail of events the reactor does not read.
            execute(
                &store,
                &clock,
                &id,
                &ctx("acme"),
                TicketCommand::ChangeStatus(tgcrm_domain::ticket::ChangeStatus {
                    to: Status::InProgress,
                    reason: None,
                }),
            )
            .await
            .unwrap();
            opened.push(id.to_string());
        }
        tgcrm_testkit::fixtures::wait_until_readable(&db).await;
        let head = newest(&db).await;

        let reactor = Arc::new(Openings::default());
        let (stop, stopped) = stop_signal();
        let task = tokio::spawn(run(
            store.clone(),
            reactor.clone(),
            Arc::new(clock.clone()) as Arc<dyn Clock>,
            ReactorConfig {
                poll_interval: Duration::from_millis(20),
                ..ReactorConfig::default()
            },
            stopped,
        ));
        wait_for_checkpoint(&db, "openings", head, "the head").await;
        stop.stop();
        task.await.unwrap();
        assert_eq!(
            *reactor.0.lock().unwrap(),
            opened,
            "each opening once, in order"
        );
    }
);

/// Handles openings, but cannot handle `blocked` until it is let through.
struct Stuck {
    blocked: String,
    let_through: std::sync::atomic::AtomicBool,
    handled: Mutex<Vec<String>>,
}

#[async_trait]
impl Reactor for Stuck {
    fn name(&self) -> &'static str {
        "stuck"
    }

    fn filter(&self) -> EventFilter {
        Openings::default().filter()
    }

    async fn react(&self, event: &StoredEvent) -> Result<(), ReactError> {
        if event.aggregate_id == self.blocked
            && !self.let_through.load(std::sync::atomic::Ordering::SeqCst)
        {
            return Err(ReactError::Retry(anyhow::anyhow!("not yet")));
        }
        self.handled
            .lock()
            .unwrap()
            .push(event.aggregate_id.clone());
        Ok(())
    }
}

both_backends!(
    while_a_reactor_retries_an_event_what_it_handled_before_stays_handled,
    |db: Db| async move {
        // Given three openings read in one batch, the third of which fails for now
        let store = EventStore::new(db.clone());
        let clock = ManualClock::new(chrono::Utc::now());
        let mut opened = Vec::new();
        for subject in ["one", "two", "three"] {
            opened.push(open_ticket(&store, &clock, subject).await.to_string());
        }
        tgcrm_testkit::fixtures::wait_until_readable(&db).await;
        let reactor = Arc::new(Stuck {
            blocked: opened[2].clone(),
            let_through: false.into(),
            handled: Mutex::default(),
        });
        let (stop, stopped) = stop_signal();
        let task = tokio::spawn(run(
            store.clone(),
            reactor.clone(),
            Arc::new(clock.clone()) as Arc<dyn Clock>,
            ReactorConfig {
                poll_interval: Duration::from_millis(20),
                min_backoff: Duration::from_millis(20),
                max_backoff: Duration::from_millis(40),
                ..ReactorConfig::default()
            },
            stopped,
        ));
        // When it retries the third, its checkpoint stands on the second
        let second = {
            let events = tgcrm_store::reader::read_after(
                &db,
                tgcrm_store::Position::START,
                100,
                &Openings::default().filter(),
            )
            .await
            .unwrap();
            events[1].position
        };
        wait_for_checkpoint(&db, "stuck", second, "the second opening").await;
        // And once the third goes through, each is handled once, in order
        reactor
            .let_through
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let head = newest(&db).await;
        wait_for_checkpoint(&db, "stuck", head, "the head").await;
        stop.stop();
        task.await.unwrap();
        assert_eq!(*reactor.handled.lock().unwrap(), opened);
    }
);
