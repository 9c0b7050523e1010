//! The ordered global reader never skips an event whose transaction commits
//! late. Many writers append in transactions that stay open for a random
//! while, so positions commit out of order, while the projectors run live.
//! Afterwards the live projections must equal a from-scratch rebuild, and hold
//! exactly the events of the log. A naive `position > last` reader, run
//! alongside, shows what the xid rule prevents.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use tgcrm_domain::ticket::{
    AddMessage, Author, Channel, MessageVisibility, OpenTicket, Ticket, TicketCommand, decide,
};
use tgcrm_domain::values::{
    Customer, CustomerName, MessageText, Priority, Subject, TelegramUserId,
};
use tgcrm_domain::{Clock, MessageId, TicketId, WorkspaceId};
use tgcrm_projections::Consistency;
use tgcrm_projections::runner::{self, RunnerConfig};
use tgcrm_store::append::{NewEvent, StreamWrite, append_in};
use tgcrm_store::shutdown::stop_signal;
use tgcrm_store::{Db, EventStore, Metadata, Source, SystemClock};

fn new_events(events: &[tgcrm_domain::ticket::TicketEvent]) -> Vec<NewEvent> {
    events
        .iter()
        .map(|e| NewEvent {
            event_id: uuid::Uuid::now_v7(),
            event_type: e.type_name().to_owned(),
            event_version: tgcrm_domain::ticket::EVENT_VERSION.to_owned(),
            payload: serde_json::to_value(e).unwrap(),
            occurred_at: e.at(),
        })
        .collect()
}

/// Append `events` at `expected` inside a transaction held open for a random while.
async fn slow_append(
    db: &Db,
    id: &str,
    expected: i64,
    events: &[tgcrm_domain::ticket::TicketEvent],
) {
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
    let pause = rand::thread_rng().gen_range(0..30);
    tokio::time::sleep(Duration::from_millis(pause)).await;
    tx.commit().await.unwrap();
}

async fn writer(db: Db, store: EventStore, w: usize, tickets: usize) {
    let clock = SystemClock;
    let ws = WorkspaceId::parse("acme").unwrap();
    for n in 0..tickets {
        let ticket_id = TicketId::new();
        let open = TicketCommand::Open(OpenTicket {
            ticket_id,
            workspace_id: ws.clone(),
            subject: Subject::parse(&format!("writer {w} ticket {n}")).unwrap(),
            customer: Customer {
                telegram_user_id: TelegramUserId::parse(1_000 + w as i64).unwrap(),
                name: CustomerName::parse("C").unwrap(),
                username: None,
            },
            priority: Priority::Normal,
            channel: Channel::Api,
            tags: Default::default(),
            fields: Default::default(),
            first_message: AddMessage {
                message_id: MessageId::new(),
                author: Author::Customer,
                visibility: MessageVisibility::Public,
                text: MessageText::parse("hello").unwrap(),
                attachments: vec![],
            },
            follows_up: None,
        });
        let mut state = Ticket::default();
        let events = decide(&state, open, clock.now()).unwrap();
        slow_append(&db, &ticket_id.to_string(), 0, &events).await;
        store.notify_appended();
        for e in events {
            state.apply(e);
        }
        let reply = TicketCommand::AddMessage(AddMessage {
            message_id: MessageId::new(),
            author: Author::Customer,
            visibility: MessageVisibility::Public,
            text: MessageText::parse("more").unwrap(),
            attachments: vec![],
        });
        let events = decide(&state, reply, clock.now()).unwrap();
        slow_append(&db, &ticket_id.to_string(), 2, &events).await;
        store.notify_appended();
    }
}

#[derive(sqlx::FromRow, Debug, PartialEq)]
struct TicketRow {
    ticket_id: String,
    subject: String,
    status: String,
    message_count: i64,
    version: i64,
}

#[derive(sqlx::FromRow, Debug, PartialEq)]
struct MessageRow {
    message_id: String,
    ticket_id: String,
    sequence: i64,
    text: String,
}

async fn snapshot(db: &Db) -> (Vec<TicketRow>, Vec<MessageRow>) {
    let tickets = db
        .fetch_all("SELECT ticket_id, subject, status, message_count, version FROM rm_tickets ORDER BY ticket_id", vec![])
        .await
        .unwrap();
    let messages = db
        .fetch_all(
            "SELECT message_id, ticket_id, sequence, text FROM rm_messages ORDER BY message_id",
            vec![],
        )
        .await
        .unwrap();
    (tickets, messages)
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

#[tokio::test]
async fn live_projections_under_concurrent_late_commits_equal_a_rebuild() {
    let test_db = tgcrm_testkit::postgres().await;
    let db = test_db.db.clone();
    let store = EventStore::new(db.clone());
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let consistency = Consistency::default();
    let (stop, stopped) = stop_signal();
    let config = RunnerConfig {
        batch_size: 50,
        poll_interval: Duration::from_millis(20),
    };
    let mut runners = Vec::new();
    for p in [
        Arc::new(tgcrm_projections::ticket_list::TicketListProjector)
            as Arc<dyn tgcrm_projections::Projector>,
        Arc::new(tgcrm_projections::conversation::ConversationProjector),
    ] {
        runners.push(tokio::spawn(runner::run(
            store.clone(),
            p,
            consistency.clone(),
            clock.clone(),
            config,
            stopped.clone(),
        )));
    }

    // A naive reader that trusts `position > last`.
    let naive = {
        let db = db.clone();
        let stopped = stopped.clone();
        tokio::spawn(async move {
            #[derive(sqlx::FromRow)]
            struct P {
                position: i64,
            }
            let mut last = 0i64;
            let mut seen = BTreeSet::new();
            while !stopped.is_stopped() {
                let rows: Vec<P> = db
                    .fetch_all(
                        "SELECT position FROM events WHERE position > $1 ORDER BY position LIMIT 500",
                        tgcrm_store::args![last],
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
        })
    };

    let writers: Vec<_> = (0..16)
        .map(|w| tokio::spawn(writer(db.clone(), store.clone(), w, 25)))
        .collect();
    for w in writers {
        w.await.unwrap();
    }

    // Wait for the live projections to reach the end of the log.
    let head = tgcrm_store::reader::head(&db).await.unwrap();
    consistency
        .wait_for(
            &db,
            &["ticket_list", "conversation"],
            head,
            Duration::from_secs(30),
        )
        .await
        .expect("the live projections caught up");
    stop.stop();
    for r in runners {
        r.await.unwrap();
    }
    let naive_seen = naive.await.unwrap();

    let opened: Count = db
        .fetch_one(
            "SELECT COUNT(*) AS n FROM events WHERE event_type = 'TicketOpened'",
            vec![],
        )
        .await
        .unwrap();
    let added: Count = db
        .fetch_one(
            "SELECT COUNT(*) AS n FROM events WHERE event_type = 'MessageAdded'",
            vec![],
        )
        .await
        .unwrap();
    let all: Count = db
        .fetch_one("SELECT COUNT(*) AS n FROM events", vec![])
        .await
        .unwrap();
    assert_eq!(opened.n, 16 * 25);
    assert_eq!(added.n, 16 * 25 * 2);

    let live = snapshot(&db).await;
    assert_eq!(
        live.0.len() as i64,
        opened.n,
        "every ticket is in the live list"
    );
    assert_eq!(
        live.1.len() as i64,
        added.n,
        "every message is in the live conversation"
    );
    assert!(
        live.0
            .iter()
            .all(|t| t.message_count == 2 && t.version == 3)
    );

    for p in [
        Arc::new(tgcrm_projections::ticket_list::TicketListProjector)
            as Arc<dyn tgcrm_projections::Projector>,
        Arc::new(tgcrm_projections::conversation::ConversationProjector),
    ] {
        tgcrm_projections::rebuild::rebuild(&db, p.as_ref(), clock.as_ref(), false)
            .await
            .unwrap();
    }
    let rebuilt = snapshot(&db).await;
    assert_eq!(
        live, rebuilt,
        "the live projection equals a from-scratch rebuild"
    );

    let skipped = all.n as usize - naive_seen.len();
    eprintln!(
        "a naive `position > last` reader missed {skipped} of {} events",
        all.n
    );
    test_db.finish().await;
}
