//! A data subject's key this process read lately seals the next command's
//! events without being read again, and is never used once the subject is
//! erased: the append checks the key in the database in the same statement.
//! An erasure written straight to the database stands for another process's.

use tgcrm_domain::TicketId;
use tgcrm_domain::ticket::{Ticket, TicketCommand, decide};
use tgcrm_store::append::{AppendError, StreamWrite, append};
use tgcrm_store::personal::{ERASED, subject_for};
use tgcrm_store::{Db, EventStore, Metadata, Source};
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::{new_events, open};

use crate::{clock, erase_customer_42, open_ticket, t0, ticket_write};

#[derive(sqlx::FromRow)]
struct Stored {
    event_type: String,
    payload: serde_json::Value,
}

/// The stored (sealed) payloads of ticket `id`'s events, in order.
async fn stored(db: &Db, id: &str) -> Vec<Stored> {
    db.fetch_all(
        "SELECT event_type, payload FROM events WHERE aggregate_id = $1 ORDER BY sequence",
        tgcrm_store::args![id],
    )
    .await
    .unwrap()
}

both_backends!(
    a_kept_key_is_not_used_once_another_process_erased_its_subject,
    |db: Db| async move {
        let here = EventStore::new(db.clone());
        let clock = clock();
        // Given customer 42's key, read by this process for a first ticket
        open_ticket(&here, &clock, "acme", "First").await;
        assert_eq!(here.keys().len(), 1);
        // When another process erases the customer
        erase_customer_42(&db, &clock).await;
        // And this process opens a second ticket for them
        let (id, out) = open_ticket(&here, &clock, "acme", "Second").await;
        // Then the new events were not sealed with the destroyed key: they
        // hold nothing readable of the customer at all
        let events = stored(&db, &id.to_string()).await;
        let opened = events
            .iter()
            .find(|e| e.event_type == "TicketOpened")
            .unwrap();
        let body = &opened.payload["TicketOpened"];
        assert_eq!(body["customer"]["name"], ERASED);
        assert_eq!(body["subject"], ERASED);
        assert!(
            !events
                .iter()
                .any(|e| e.payload.to_string().contains("enc:v1:")),
            "nothing sealed after the erasure"
        );
        // And the key is no longer kept
        assert_eq!(here.keys().len(), 0);
        assert_eq!(out.version, 2);
    }
);

both_backends!(
    a_kept_key_seals_for_another_ticket_of_the_same_customer,
    |db: Db| async move {
        let here = EventStore::new(db.clone());
        let clock = clock();
        // Given customer 42's key, read by this process for a first ticket
        let (first, _) = open_ticket(&here, &clock, "acme", "First").await;
        // When it opens a second ticket for them
        let (second, out) = open_ticket(&here, &clock, "acme", "Second").await;
        // Then both are sealed with the same, live key: another process
        // reads them in the clear
        assert_eq!(out.state.subject.as_ref().unwrap().as_str(), "Second");
        let there = tgcrm_store::load::load_ticket(&db, &second).await.unwrap();
        assert_eq!(there.state.subject.as_ref().unwrap().as_str(), "Second");
        assert_eq!(there.state.customer.as_ref().unwrap().name.as_str(), "Ada");
        for id in [first, second] {
            let events = stored(&db, &id.to_string()).await;
            let opened = events
                .iter()
                .find(|e| e.event_type == "TicketOpened")
                .unwrap();
            let sealed = opened.payload["TicketOpened"]["subject"].as_str().unwrap();
            assert!(sealed.starts_with("enc:v1:acme/tg:42:"), "{sealed}");
        }
        assert_eq!(here.keys().len(), 1);
    }
);

both_backends!(
    an_append_naming_a_live_subject_writes_only_while_its_key_lives,
    |db: Db| async move {
        let store = EventStore::new(db.clone());
        let clock = clock();
        let meta = Metadata::new("test:writer", Source::System);
        let subject = subject_for(42);
        // A new ticket's two events under a new id
        let opening = || {
            let id = TicketId::new();
            let events = decide(
                &Ticket::default(),
                TicketCommand::Open(open("acme", id, "Guarded")),
                t0(),
            )
            .unwrap();
            (id.to_string(), new_events(&events))
        };
        let guarded = |id, live| StreamWrite {
            live_subject: live,
            ..ticket_write(id, &meta, 0)
        };
        // A subject without a key yet: nothing is written
        let (a, events) = opening();
        let none = append(&db, &guarded(&a, Some(&subject)), &events).await;
        assert!(matches!(none, Err(AppendError::SubjectErased)), "{none:?}");
        assert!(stored(&db, &a).await.is_empty());
        // With its key (made by a command), every event is written
        open_ticket(&store, &clock, "acme", "Keyed").await;
        let (b, events) = opening();
        let written = append(&db, &guarded(&b, Some(&subject)), &events)
            .await
            .unwrap();
        assert_eq!(written.len(), 2);
        // Once erased, nothing is, and the stream stays free for a writer
        // that names no live subject
        erase_customer_42(&db, &clock).await;
        let (c, events) = opening();
        let erased = append(&db, &guarded(&c, Some(&subject)), &events).await;
        assert!(
            matches!(erased, Err(AppendError::SubjectErased)),
            "{erased:?}"
        );
        assert!(stored(&db, &c).await.is_empty());
        append(&db, &guarded(&c, None), &events).await.unwrap();
        assert_eq!(stored(&db, &c).await.len(), 2);
    }
);
