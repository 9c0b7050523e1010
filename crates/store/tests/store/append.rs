//! Appending through the command handler and directly: what is stored, what
//! loads back, who wins a race for a version, and that history stays put.

use chrono::Duration;
use tgcrm_domain::ticket::{
    ChangeStatus, MessageVisibility, Ticket, TicketCommand, TicketError, decide,
};
use tgcrm_domain::values::{Note, Status};
use tgcrm_domain::{Clock, TicketId};
use tgcrm_store::append::{AppendError, StreamWrite, append, append_in};
use tgcrm_store::load::load_ticket;
use tgcrm_store::reader::read_stream;
use tgcrm_store::tickets::{CommandError, execute};
use tgcrm_store::{Backend, Db, EventStore, Metadata, Source};
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::{count, ctx, new_events, open, staff_says};

use crate::{clock, open_ticket, run, t0, ticket_write};

both_backends!(
    an_opened_and_answered_ticket_is_stored_and_loads_back,
    |db: Db| async move {
        let store = EventStore::new(db.clone());
        let clock = clock();
        let (id, opened) = open_ticket(&store, &clock, "acme", "Printer on fire").await;
        assert_eq!(opened.version, 2, "TicketOpened and the first MessageAdded");
        assert_eq!(opened.events.len(), 2);
        let first_position = opened.position.expect("a position for the new events");

        clock.advance(Duration::minutes(5));
        let replied = run(
            &store,
            &clock,
            &id,
            staff_says(MessageVisibility::Public, "On it"),
        )
        .await;
        assert_eq!(replied.version, 3);
        assert!(replied.position.unwrap() > first_position);

        let loaded = load_ticket(&db, &id).await.unwrap();
        assert_eq!(loaded.version, 3);
        assert_eq!(loaded.state, replied.state);
        assert_eq!(
            loaded.state.subject.as_ref().unwrap().as_str(),
            "Printer on fire"
        );
        assert_eq!(loaded.state.message_count, 2);
        assert_eq!(loaded.state.opened_at, Some(t0()));
        assert_eq!(loaded.state.updated_at, Some(t0() + Duration::minutes(5)));

        let stream = read_stream(&db, "ticket", &id.to_string(), 0, 100)
            .await
            .unwrap();
        let types: Vec<&str> = stream.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(types, ["TicketOpened", "MessageAdded", "MessageAdded"]);
        assert_eq!(
            stream.iter().map(|e| e.sequence).collect::<Vec<_>>(),
            [1, 2, 3]
        );
    }
);

both_backends!(
    repeats_refusals_and_strangers_store_nothing,
    |db: Db| async move {
        let store = EventStore::new(db.clone());
        let clock = clock();
        let (id, _) = open_ticket(&store, &clock, "acme", "Refund").await;

        // The same open again (a retried request) decides nothing.
        let again = execute(
            &store,
            &clock,
            &id,
            &ctx("acme"),
            TicketCommand::Open(open("acme", id, "Refund")),
        )
        .await
        .unwrap();
        assert!(again.events.is_empty());
        assert_eq!(again.version, 2);
        assert!(
            again.position.is_some(),
            "the stream's head for consistent_with"
        );

        let close = TicketCommand::ChangeStatus(ChangeStatus {
            to: Status::Closed,
            reason: Some(Note::parse("done").unwrap()),
        });
        let refused = execute(&store, &clock, &id, &ctx("acme"), close).await;
        assert!(matches!(
            refused,
            Err(CommandError::Refused(TicketError::CloseRequiresResolved {
                current: Status::Open
            }))
        ));

        let stranger = execute(
            &store,
            &clock,
            &id,
            &ctx("globex"),
            staff_says(MessageVisibility::Public, "hi"),
        )
        .await;
        assert!(matches!(stranger, Err(CommandError::NotFound)));

        let mut stale = ctx("acme");
        stale.expected_version = Some(1);
        let stale = execute(
            &store,
            &clock,
            &id,
            &stale,
            staff_says(MessageVisibility::Public, "hi"),
        )
        .await;
        assert!(matches!(
            stale,
            Err(CommandError::VersionMismatch {
                expected: 1,
                current: 2
            })
        ));

        let unknown = execute(
            &store,
            &clock,
            &TicketId::new(),
            &ctx("acme"),
            staff_says(MessageVisibility::Public, "hi"),
        )
        .await;
        assert!(matches!(unknown, Err(CommandError::NotFound)));

        assert_eq!(
            count(&db, "SELECT COUNT(*) AS n FROM events", vec![]).await,
            2
        );
    }
);

both_backends!(
    a_writer_that_raced_for_the_same_version_gets_a_conflict,
    |db: Db| async move {
        let id = TicketId::new().to_string();
        let meta = Metadata::new("test:writer", Source::System);
        let write = |expected| ticket_write(&id, &meta, expected);
        let opened = |subject: &str| {
            let tid = id.parse().unwrap();
            decide(
                &Ticket::default(),
                TicketCommand::Open(open("acme", tid, subject)),
                t0(),
            )
            .unwrap()
        };

        // The first writer's transaction is open when the second one starts.
        let mut first = db.begin().await.unwrap();
        append_in(&mut first, &write(0), &new_events(&opened("first")))
            .await
            .unwrap();
        let second = {
            let db = db.clone();
            let id = id.clone();
            let events = new_events(&opened("second"));
            tokio::spawn(async move {
                let meta = Metadata::new("test:writer", Source::System);
                let write = ticket_write(&id, &meta, 0);
                append(&db, &write, &events).await
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        first.commit().await.unwrap();
        let second = second.await.unwrap();
        assert!(
            matches!(second, Err(AppendError::Conflict)),
            "the later writer loses: {second:?}"
        );

        // And a writer that saw version 0 after the fact loses too.
        let late = append(&db, &write(0), &new_events(&opened("late"))).await;
        assert!(matches!(late, Err(AppendError::Conflict)));

        let stream = read_stream(&db, "ticket", &id, 0, 100).await.unwrap();
        assert_eq!(stream.len(), 2, "only the winner's events are stored");
        let subject = stream[0].payload["TicketOpened"]["subject"]
            .as_str()
            .unwrap();
        assert_eq!(subject, "first");
    }
);

both_backends!(
    the_event_log_refuses_updates_and_deletes,
    |db: Db| async move {
        let store = EventStore::new(db.clone());
        let (id, _) = open_ticket(&store, &clock(), "acme", "History").await;
        let update = db
            .execute("UPDATE events SET actor = 'mallory'", vec![])
            .await;
        let delete = db
            .execute(
                "DELETE FROM events WHERE aggregate_id = $1",
                tgcrm_store::args![id.to_string()],
            )
            .await;
        for (what, result) in [("UPDATE", update), ("DELETE", delete)] {
            let err = result.expect_err(&format!("{what} must be refused"));
            assert!(
                err.to_string().contains("append-only"),
                "{what} refused for the wrong reason: {err}"
            );
        }
        if db.backend() == Backend::Postgres {
            let err = db.execute("TRUNCATE events", vec![]).await.unwrap_err();
            assert!(err.to_string().contains("append-only"), "{err}");
        }
        let actors = count(
            &db,
            "SELECT COUNT(*) AS n FROM events WHERE actor = 'token:test'",
            vec![],
        )
        .await;
        assert_eq!(actors, 2, "history is untouched");
    }
);

#[derive(sqlx::FromRow)]
struct MetadataRow {
    metadata: serde_json::Value,
}

both_backends!(
    every_event_carries_its_metadata_in_real_columns,
    |db: Db| async move {
        let store = EventStore::new(db.clone());
        let clock = clock();
        let id = TicketId::new();
        let mut context = ctx("acme");
        context.metadata = Metadata {
            actor: "customer:42".to_owned(),
            source: Source::Telegram,
            correlation_id: Some("corr-1".to_owned()),
            causation_id: Some("cause-1".to_owned()),
            request_id: Some("req-1".to_owned()),
        };
        let before = chrono::Utc::now() - Duration::seconds(5);
        execute(
            &store,
            &clock,
            &id,
            &context,
            TicketCommand::Open(open("acme", id, "Where is my parcel?")),
        )
        .await
        .unwrap();
        let after = chrono::Utc::now() + Duration::seconds(5);

        let stream = read_stream(&db, "ticket", &id.to_string(), 0, 100)
            .await
            .unwrap();
        assert_eq!(stream.len(), 2);
        for e in &stream {
            assert_eq!(e.aggregate_type, "ticket");
            assert_eq!(e.aggregate_id, id.to_string());
            assert_eq!(e.workspace_id, "acme");
            assert_eq!(e.actor, "customer:42");
            assert_eq!(e.source, "telegram");
            assert_eq!(e.correlation_id.as_deref(), Some("corr-1"));
            assert_eq!(e.causation_id.as_deref(), Some("cause-1"));
            assert_eq!(e.request_id.as_deref(), Some("req-1"));
            assert_eq!(e.event_version, "1.0");
            assert_eq!(
                e.occurred_at,
                clock.now(),
                "business time comes from the clock"
            );
            assert!(
                e.recorded_at > before && e.recorded_at < after,
                "recorded_at is the database's time: {}",
                e.recorded_at
            );
            uuid::Uuid::parse_str(&e.event_id).expect("event ids are UUIDs");
            assert!(e.position.position > 0);
        }
        assert_ne!(stream[0].event_id, stream[1].event_id);
        assert!(stream[0].position < stream[1].position);

        // The cqrs-es view of the same metadata (a string map).
        let rows: Vec<MetadataRow> = db
            .fetch_all(
                "SELECT metadata FROM events WHERE aggregate_id = $1 ORDER BY sequence",
                tgcrm_store::args![id.to_string()],
            )
            .await
            .unwrap();
        for r in rows {
            assert_eq!(r.metadata["actor"], "customer:42");
            assert_eq!(r.metadata["source"], "telegram");
            assert_eq!(r.metadata["workspace_id"], "acme");
            assert_eq!(r.metadata["correlation_id"], "corr-1");
            assert_eq!(r.metadata["causation_id"], "cause-1");
            assert_eq!(r.metadata["request_id"], "req-1");
        }

        // Events without the optional ids leave those columns empty.
        let (plain, _) = open_ticket(&store, &clock, "acme", "Plain").await;
        let stream = read_stream(&db, "ticket", &plain.to_string(), 0, 100)
            .await
            .unwrap();
        assert!(stream.iter().all(|e| e.correlation_id.is_none()
            && e.causation_id.is_none()
            && e.request_id.is_none()
            && e.actor == "token:test"
            && e.source == "api"));
    }
);

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    last_sequence: i64,
}

both_backends!(
    a_long_write_is_stored_in_order_with_its_snapshot,
    |db: Db| async move {
        // More events than one statement takes (500), written at once with a
        // snapshot due: the transaction's path, several statements.
        use tgcrm_domain::Decider;
        let id = TicketId::new();
        let mut ticket = Ticket::default();
        let mut events =
            decide(&ticket, TicketCommand::Open(open("acme", id, "Long")), t0()).unwrap();
        for e in &events {
            ticket.evolve(e.clone());
        }
        while events.len() < 1_201 {
            let more = decide(
                &ticket,
                staff_says(MessageVisibility::Internal, "note"),
                t0(),
            )
            .unwrap();
            for e in &more {
                ticket.evolve(e.clone());
            }
            events.extend(more);
        }
        let meta = Metadata::new("test:writer", Source::System);
        let id = id.to_string();
        let snapshot = serde_json::to_value(&ticket).unwrap();
        let write = StreamWrite {
            snapshot: Some((1_201, snapshot)),
            ..ticket_write(&id, &meta, 0)
        };
        let positions = append(&db, &write, &new_events(&events)).await.unwrap();
        assert_eq!(positions.len(), 1_201);
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "positions follow the sequences"
        );
        let stream = read_stream(&db, "ticket", &id, 0, 2_000).await.unwrap();
        assert_eq!(stream.len(), 1_201);
        assert!(stream.iter().zip(1..).all(|(e, n)| e.sequence == n));
        let snap: SnapshotRow = db
            .fetch_one(
                "SELECT last_sequence FROM snapshots WHERE aggregate_id = $1",
                tgcrm_store::args![id.clone()],
            )
            .await
            .unwrap();
        assert_eq!(snap.last_sequence, 1_201);
        let loaded = load_ticket(&db, &id.parse().unwrap()).await.unwrap();
        assert_eq!(loaded.version, 1_201);
        assert_eq!(loaded.state, ticket);

        // A short write after it: one statement on Postgres, positions after
        // the long write's, in sequence order.
        let more = decide(&ticket, staff_says(MessageVisibility::Public, "done"), t0()).unwrap();
        let short = StreamWrite {
            expected_sequence: 1_201,
            snapshot: None,
            ..write
        };
        let after = append(&db, &short, &new_events(&more)).await.unwrap();
        assert_eq!(after.len(), more.len());
        assert!(after[0] > positions[1_200]);
        let late = append(&db, &short, &new_events(&more)).await;
        assert!(
            matches!(late, Err(AppendError::Conflict)),
            "a second writer of sequence 1,202 loses: {late:?}"
        );
    }
);
