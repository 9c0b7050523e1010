//! The ordered global reader: one order for everyone, filters that only
//! filter, and (on Postgres) nothing handed out past a transaction that is
//! still running.

use std::time::Duration;

use tgcrm_domain::TicketId;
use tgcrm_domain::ticket::{MessageVisibility, Ticket, TicketCommand, decide};
use tgcrm_store::append::{StreamWrite, append, append_in};
use tgcrm_store::reader::{EventFilter, head, newest, read_after, read_reaching};
use tgcrm_store::tokens::{NewToken, Role, TokenEnv, issue};
use tgcrm_store::{Db, EventStore, Metadata, Position, Source, StoredEvent};
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::{count, new_events, open, staff_says, wait_until_readable};

use crate::{clock, open_ticket, run, t0};

async fn read_all(db: &Db, filter: &EventFilter, page: i64) -> Vec<StoredEvent> {
    let mut out = Vec::new();
    let mut after = Position::START;
    loop {
        let events = read_after(db, after, page, filter).await.unwrap();
        assert!(events.len() as i64 <= page, "the limit is honoured");
        let Some(last) = events.last() else {
            return out;
        };
        after = last.position;
        out.extend(events);
    }
}

fn keys(events: &[StoredEvent]) -> Vec<(String, i64)> {
    events
        .iter()
        .map(|e| (e.aggregate_id.clone(), e.sequence))
        .collect()
}

both_backends!(
    the_global_reader_hands_out_every_event_once_in_order_and_filters,
    |db: Db| async move {
        let store = EventStore::new(db.clone());
        let clock = clock();
        let (a, _) = open_ticket(&store, &clock, "acme", "A").await;
        let (b, _) = open_ticket(&store, &clock, "globex", "B").await;
        run(
            &store,
            &clock,
            &a,
            staff_says(MessageVisibility::Public, "a1"),
        )
        .await;
        let (c, _) = open_ticket(&store, &clock, "acme", "C").await;
        tgcrm_store::tickets::execute(
            &store,
            &clock,
            &b,
            &tgcrm_testkit::fixtures::ctx("globex"),
            staff_says(MessageVisibility::Internal, "b1"),
        )
        .await
        .unwrap();
        run(
            &store,
            &clock,
            &a,
            staff_says(MessageVisibility::Public, "a2"),
        )
        .await;
        run(
            &store,
            &clock,
            &c,
            staff_says(MessageVisibility::Public, "c1"),
        )
        .await;
        let (token, _) = issue(
            &db,
            TokenEnv::Test,
            &NewToken {
                workspace_id: "acme",
                role: Role::Agent,
                agent_id: None,
                label: Some("reader test"),
                expires_at: None,
            },
            &Metadata::new("cli", Source::Cli),
            t0(),
        )
        .await
        .unwrap();

        wait_until_readable(&db).await;
        let total = count(&db, "SELECT COUNT(*) AS n FROM events", vec![]).await;
        assert_eq!(total, 2 + 2 + 1 + 2 + 1 + 1 + 1 + 1);
        let all = read_all(&db, &EventFilter::default(), 1_000).await;
        assert_eq!(all.len() as i64, total);
        assert!(
            all.windows(2).all(|w| w[0].position < w[1].position),
            "strictly increasing positions"
        );
        // Small pages give the same sequence.
        assert_eq!(
            keys(&read_all(&db, &EventFilter::default(), 3).await),
            keys(&all)
        );
        // Per stream, the global order is the sequence order.
        for id in [a, b, c] {
            let seqs: Vec<i64> = all
                .iter()
                .filter(|e| e.aggregate_id == id.to_string())
                .map(|e| e.sequence)
                .collect();
            assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
        }
        assert_eq!(newest(&db).await.unwrap(), all.last().unwrap().position);
        assert_eq!(head(&db).await.unwrap(), all.last().unwrap().position);

        // Each filter gives exactly the matching subsequence of the full order.
        let check = |filter: EventFilter, keep: &dyn Fn(&StoredEvent) -> bool| {
            let expected = keys(&all.iter().filter(|e| keep(e)).cloned().collect::<Vec<_>>());
            let db = db.clone();
            async move {
                let got = read_all(&db, &filter, 2).await;
                assert!(!got.is_empty(), "{filter:?} matches something");
                assert_eq!(keys(&got), expected, "{filter:?}");
            }
        };
        check(
            EventFilter {
                workspace_id: Some("acme".into()),
                ..Default::default()
            },
            &|e| e.workspace_id == "acme",
        )
        .await;
        check(
            EventFilter {
                event_types: vec!["MessageAdded".into(), "TokenIssued".into()],
                ..Default::default()
            },
            &|e| e.event_type == "MessageAdded" || e.event_type == "TokenIssued",
        )
        .await;
        check(
            EventFilter {
                aggregate_type: Some("api_token".into()),
                ..Default::default()
            },
            &|e| e.aggregate_type == "api_token",
        )
        .await;
        check(
            EventFilter {
                aggregate_id: Some(a.to_string()),
                ..Default::default()
            },
            &|e| e.aggregate_id == a.to_string(),
        )
        .await;
        check(
            EventFilter {
                workspace_id: Some("acme".into()),
                event_types: vec!["TicketOpened".into()],
                aggregate_type: Some("ticket".into()),
                ..Default::default()
            },
            &|e| e.workspace_id == "acme" && e.event_type == "TicketOpened",
        )
        .await;
        check(
            EventFilter {
                aggregate_types: vec!["api_token".into(), "ticket".into()],
                ..Default::default()
            },
            &|e| e.aggregate_type == "api_token" || e.aggregate_type == "ticket",
        )
        .await;
        assert!(all.iter().any(|e| e.aggregate_id == token.id));
        let none = read_after(
            &db,
            Position::START,
            10,
            &EventFilter {
                workspace_id: Some("nobody".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert!(none.is_empty());
        // A filtered read also says how far the same snapshot reached: its
        // last event after a full page, the log's head after a short one.
        let end = all.last().unwrap().position;
        let tickets = EventFilter {
            aggregate_types: vec!["ticket".into()],
            ..Default::default()
        };
        let ticket_events: Vec<_> = all
            .iter()
            .filter(|e| e.aggregate_type == "ticket")
            .collect();
        assert_ne!(
            ticket_events.last().unwrap().position,
            end,
            "the log ends with the token"
        );
        let (page, reached) = read_reaching(&db, Position::START, 2, &tickets)
            .await
            .unwrap();
        assert_eq!(
            keys(&page),
            keys(&[ticket_events[0].clone(), ticket_events[1].clone()])
        );
        assert_eq!(
            reached, page[1].position,
            "a full page reaches its last event"
        );
        let (rest, reached) = read_reaching(&db, Position::START, 1_000, &tickets)
            .await
            .unwrap();
        assert_eq!(rest.len(), ticket_events.len());
        assert_eq!(reached, end, "a short page reaches the head");
        let nobody = EventFilter {
            workspace_id: Some("nobody".into()),
            ..Default::default()
        };
        let (nothing, reached) = read_reaching(&db, Position::START, 10, &nobody)
            .await
            .unwrap();
        assert!(nothing.is_empty());
        assert_eq!(reached, end);
        let (nothing, reached) = read_reaching(&db, end, 10, &nobody).await.unwrap();
        assert!(nothing.is_empty());
        assert_eq!(reached, end, "nothing past the head");
        // Reading after the last event gives nothing.
        assert!(
            read_after(
                &db,
                all.last().unwrap().position,
                10,
                &EventFilter::default()
            )
            .await
            .unwrap()
            .is_empty()
        );
    }
);

fn new_stream<'a>(key: &'a str, meta: &'a Metadata) -> StreamWrite<'a> {
    StreamWrite {
        aggregate_type: "ticket",
        aggregate_id: key,
        workspace_id: "acme",
        expected_sequence: 0,
        metadata: meta,
        snapshot: None,
        live_subject: None,
    }
}

/// A transaction that inserted first and commits last: the reader must wait
/// for it rather than hand out the later position, which a naive
/// `position > last` reader does, and so loses the earlier event for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ordered_reader_waits_for_a_transaction_that_commits_late() {
    let test_db = tgcrm_testkit::postgres().await;
    let db = test_db.db.clone();
    let meta = Metadata::new("test:writer", Source::System);
    let opened = |id: TicketId| {
        decide(
            &Ticket::default(),
            TicketCommand::Open(open("acme", id, "slow")),
            t0(),
        )
        .unwrap()
    };
    let (slow_id, fast_id) = (TicketId::new(), TicketId::new());
    let (slow_key, fast_key) = (slow_id.to_string(), fast_id.to_string());

    // The slow writer draws the first positions and keeps its transaction open.
    let mut slow = db.begin().await.unwrap();
    let slow_positions = append_in(
        &mut slow,
        &new_stream(&slow_key, &meta),
        &new_events(&opened(slow_id)),
    )
    .await
    .unwrap();
    // The fast writer draws later positions and commits at once.
    let fast_positions = append(
        &db,
        &new_stream(&fast_key, &meta),
        &new_events(&opened(fast_id)),
    )
    .await
    .unwrap();
    assert!(fast_positions[0].position > slow_positions[1].position);

    // A naive reader sees the fast events and moves its mark past the slow ones.
    #[derive(sqlx::FromRow)]
    struct P {
        position: i64,
    }
    let naive: Vec<P> = db
        .fetch_all(
            "SELECT position FROM events WHERE position > $1 ORDER BY position",
            tgcrm_store::args![0_i64],
        )
        .await
        .unwrap();
    let naive_mark = naive.iter().map(|p| p.position).max().unwrap();
    assert_eq!(naive.len(), 2, "only the committed fast events are visible");

    // The ordered reader hands out nothing while the older transaction runs.
    let held = read_after(&db, Position::START, 100, &EventFilter::default())
        .await
        .unwrap();
    assert!(
        held.is_empty(),
        "nothing past a running older transaction: {held:?}"
    );
    assert!(head(&db).await.unwrap() < fast_positions[0]);

    slow.commit().await.unwrap();

    // The naive reader never sees the slow events...
    let missed: Vec<P> = db
        .fetch_all(
            "SELECT position FROM events WHERE position > $1 ORDER BY position",
            tgcrm_store::args![naive_mark],
        )
        .await
        .unwrap();
    assert!(
        missed.is_empty(),
        "the naive reader skipped the late commit"
    );

    // ...the ordered reader hands out all four, the slow transaction's first.
    // (Another test's transaction elsewhere on the cluster may hold it back a while.)
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let events = loop {
        let events = read_after(&db, Position::START, 100, &EventFilter::default())
            .await
            .unwrap();
        if events.len() == 4 {
            break events;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the reader caught up"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let order: Vec<&str> = events.iter().map(|e| e.aggregate_id.as_str()).collect();
    assert_eq!(order, [slow_key.as_str(), &slow_key, &fast_key, &fast_key]);
    assert_eq!(
        events.iter().map(|e| e.position).collect::<Vec<_>>(),
        [slow_positions, fast_positions].concat()
    );
    test_db.finish().await;
}

both_backends!(
    a_sealed_read_leaves_personal_fields_sealed,
    |db: Db| async move {
        let store = EventStore::new(db.clone());
        let clock = clock();
        open_ticket(&store, &clock, "acme", "Private matter").await;
        // (Past any other test's transaction still open on the cluster.)
        wait_until_readable(&db).await;
        let opened = |events: &[StoredEvent]| {
            events
                .iter()
                .find(|e| e.event_type == "TicketOpened")
                .unwrap()
                .payload["TicketOpened"]["subject"]
                .as_str()
                .unwrap()
                .to_owned()
        };
        // A reader that needs them gets the fields in the clear
        let filter = EventFilter {
            event_types: vec!["TicketOpened".into()],
            ..EventFilter::default()
        };
        let (events, _) = read_reaching(&db, Position::START, 10, &filter)
            .await
            .unwrap();
        assert_eq!(opened(&events), "Private matter");
        // One that does not (a reactor) gets them as stored
        let sealed = EventFilter {
            sealed: true,
            ..filter
        };
        let (events, _) = read_reaching(&db, Position::START, 10, &sealed)
            .await
            .unwrap();
        assert!(opened(&events).starts_with("enc:v1:acme/tg:42:"));
        let events = read_after(&db, Position::START, 10, &sealed).await.unwrap();
        assert!(opened(&events).starts_with("enc:v1:acme/tg:42:"));
    }
);
