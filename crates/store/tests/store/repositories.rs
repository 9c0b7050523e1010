//! What the store writes is what postgres-es and sqlite-es read: the events
//! table keeps their layout, so their repositories load our streams.

use cqrs_es::persist::{PersistedEventRepository, SerializedEvent};
use postgres_es::PostgresEventRepository;
use sqlite_es::SqliteEventRepository;
use tgcrm_domain::ticket::{MessageVisibility, Ticket, TicketEvent};
use tgcrm_store::load::load_ticket;
use tgcrm_store::{Db, EventStore};
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::{customer_says, staff_says};

use crate::{clock, open_ticket, run};

async fn repository_events(db: &Db, id: &str, after: Option<usize>) -> Vec<SerializedEvent> {
    match db {
        Db::Postgres(pool, _) => {
            let repo = PostgresEventRepository::new(pool.clone());
            match after {
                None => repo.get_events::<Ticket>(id).await,
                Some(n) => repo.get_last_events::<Ticket>(id, n).await,
            }
        }
        Db::Sqlite(pool, _) => {
            let repo = SqliteEventRepository::new(pool.clone());
            match after {
                None => repo.get_events::<Ticket>(id).await,
                Some(n) => repo.get_last_events::<Ticket>(id, n).await,
            }
        }
    }
    .unwrap()
}

both_backends!(
    the_cqrs_es_repositories_read_the_streams_the_store_writes,
    |db: Db| async move {
        let store = EventStore::new(db.clone());
        let clock = clock();
        let (id, _) = open_ticket(&store, &clock, "acme", "Invoice missing").await;
        run(
            &store,
            &clock,
            &id,
            staff_says(MessageVisibility::Internal, "checking"),
        )
        .await;
        run(&store, &clock, &id, customer_says("any news?")).await;
        let key = id.to_string();

        let events = repository_events(&db, &key, None).await;
        assert_eq!(
            events
                .iter()
                .map(|e| (e.sequence, e.event_type.as_str()))
                .collect::<Vec<_>>(),
            [
                (1, "TicketOpened"),
                (2, "MessageAdded"),
                (3, "MessageAdded"),
                (4, "MessageAdded")
            ]
        );
        for e in &events {
            assert_eq!(e.aggregate_id, key);
            assert_eq!(e.aggregate_type, "ticket");
            assert_eq!(e.event_version, "1.0");
            assert_eq!(e.metadata["actor"], "token:test");
            assert_eq!(e.metadata["workspace_id"], "acme");
        }
        let tail = repository_events(&db, &key, Some(2)).await;
        assert_eq!(tail.iter().map(|e| e.sequence).collect::<Vec<_>>(), [3, 4]);

        // Personal fields are sealed at rest; revealed, the payloads fold
        // into the state the store loads.
        let subject = events[0].payload["TicketOpened"]["subject"]
            .as_str()
            .unwrap();
        assert_ne!(subject, "Invoice missing", "subjects are stored encrypted");
        let mut payloads: Vec<(String, serde_json::Value)> = events
            .iter()
            .map(|e| (e.event_type.clone(), e.payload.clone()))
            .collect();
        tgcrm_store::personal::reveal_payloads(&db, &mut payloads)
            .await
            .unwrap();
        let mut state = Ticket::default();
        for (_, payload) in payloads {
            state.apply(serde_json::from_value::<TicketEvent>(payload).unwrap());
        }
        assert_eq!(state.subject.as_ref().unwrap().as_str(), "Invoice missing");
        assert_eq!(state, load_ticket(&db, &id).await.unwrap().state);
    }
);
