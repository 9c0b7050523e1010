//! The server runs its projectors in groups (one read and one transaction
//! per batch for each group's members; see `tgcrm_projections::groups`). A
//! projector that fails holds back only itself: the others go on, and it
//! catches up once it can apply the events again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tgcrm_domain::ticket::{ChangeTags, TicketCommand};
use tgcrm_projections::runner::RunnerConfig;
use tgcrm_projections::ticket_list::{TicketFilter, list};
use tgcrm_projections::{Consistency, Projector};
use tgcrm_store::reader::{EventFilter, read_after};
use tgcrm_store::shutdown::stop_signal;
use tgcrm_store::{Backend, Db, Position, StoredEvent, SystemClock, Tx, checkpoints};
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::{customer_says, dump_table, newest, tags};

use crate::support::{Desk, ticket_list};

/// Records the position of every ticket event it applies, and refuses
/// `TagsChanged` while `refuse` is set.
struct Picky {
    refuse: Arc<AtomicBool>,
}

#[async_trait]
impl Projector for Picky {
    fn name(&self) -> &'static str {
        "test_picky"
    }
    fn version(&self) -> i64 {
        1
    }
    fn tables(&self) -> &'static [&'static str] {
        &["test_picky_seen"]
    }
    fn reads(&self) -> &'static [&'static str] {
        &["ticket"]
    }
    fn schema(&self, _: Backend) -> Vec<String> {
        vec!["CREATE TABLE IF NOT EXISTS test_picky_seen (position BIGINT PRIMARY KEY)".into()]
    }
    async fn apply(&self, tx: &mut Tx, event: &StoredEvent) -> anyhow::Result<()> {
        if self.refuse.load(Ordering::SeqCst) && event.event_type == "TagsChanged" {
            anyhow::bail!("refusing {} at {}", event.event_type, event.position);
        }
        tx.execute(
            "INSERT INTO test_picky_seen (position) VALUES ($1) ON CONFLICT DO NOTHING",
            tgcrm_store::args![event.position.position],
        )
        .await?;
        Ok(())
    }
}

both_backends!(
    a_failing_projector_holds_back_only_itself,
    |db: Db| async move {
        // Given a ticket whose history holds an event one member refuses
        let desk = Desk::new(&db);
        let id = desk.open("acme", "printer", |_| {}).await;
        let tagged = desk
            .run(
                "acme",
                id,
                TicketCommand::ChangeTags(ChangeTags {
                    add: tags(&["paper"]),
                    remove: tags(&[]),
                }),
            )
            .await
            .position
            .unwrap();
        desk.run("acme", id, customer_says("still jammed")).await;
        let head = newest(&db).await;

        // When the group runs it with the ticket list
        let refuse = Arc::new(AtomicBool::new(true));
        let picky: Arc<dyn Projector> = Arc::new(Picky {
            refuse: refuse.clone(),
        });
        let consistency = Consistency::default();
        let (stop, stopped) = stop_signal();
        let group = tokio::spawn(tgcrm_projections::group::run(
            desk.store.clone(),
            vec![ticket_list(), picky],
            consistency.clone(),
            Arc::new(SystemClock),
            RunnerConfig {
                batch_size: 100,
                poll_interval: Duration::from_millis(50),
            },
            stopped,
        ));

        // Then the ticket list passes the refused event and shows the message after it
        consistency
            .wait_for(&db, &["ticket_list"], head, Duration::from_secs(20))
            .await
            .expect("the ticket list is not held back");
        let page = list(
            &db,
            &TicketFilter {
                workspace_id: "acme".into(),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        // The opening message and the one after the refused event.
        assert_eq!(page.items[0].message_count, 2);
        assert_eq!(page.items[0].tags, serde_json::json!(["paper"]));
        // and the refusing member stays before the event it refuses
        tokio::time::sleep(Duration::from_millis(300)).await;
        let held = checkpoints::load(&db, "test_picky").await.unwrap().unwrap();
        assert!(held.position < tagged, "{held:?} is not before {tagged}");

        // When it can apply the event again, it catches up on its own
        refuse.store(false, Ordering::SeqCst);
        consistency
            .wait_for(&db, &["test_picky"], head, Duration::from_secs(20))
            .await
            .expect("the member rejoins and catches up");
        stop.stop();
        group.await.unwrap();
        // It applied every ticket event exactly once, the refused one included.
        let ticket_events = read_after(
            &db,
            Position::START,
            100,
            &EventFilter {
                aggregate_type: Some("ticket".into()),
                ..EventFilter::default()
            },
        )
        .await
        .unwrap();
        let expected: Vec<String> = ticket_events
            .iter()
            .map(|e| format!("{{\"position\":{}}}", e.position.position))
            .collect();
        let seen = dump_table(&db, "test_picky_seen", "position").await;
        assert_eq!(seen, expected);
    }
);

/// On Postgres a committed write stays invisible to the ordered reader while
/// an older transaction is open. When that transaction ends nothing wakes
/// the group (it appended nothing), so the group must look again on its own,
/// soon, rather than at its next poll (an hour here).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_held_back_by_an_older_transaction_is_read_once_that_transaction_ends() {
    let test_db = tgcrm_testkit::postgres().await;
    let db = test_db.db.clone();
    let desk = Desk::new(&db);
    let consistency = Consistency::default();
    let (stop, stopped) = stop_signal();
    let group = tokio::spawn(tgcrm_projections::group::run(
        desk.store.clone(),
        vec![ticket_list()],
        consistency.clone(),
        Arc::new(SystemClock),
        RunnerConfig {
            batch_size: 100,
            poll_interval: Duration::from_secs(3600),
        },
        stopped,
    ));
    desk.open("acme", "first", |_| {}).await;
    consistency
        .wait_for(
            &db,
            &["ticket_list"],
            newest(&db).await,
            Duration::from_secs(20),
        )
        .await
        .expect("the group runs");

    // Given an older transaction, with a transaction id, left open
    let mut older = db.begin().await.unwrap();
    older
        .execute("SELECT pg_current_xact_id()", vec![])
        .await
        .unwrap();
    // When a command commits after it
    desk.open("acme", "second", |_| {}).await;
    let position = newest(&db).await;
    // Then the group cannot pass it yet
    assert!(
        consistency
            .wait_for(&db, &["ticket_list"], position, Duration::from_millis(300))
            .await
            .is_err(),
        "a write behind an open transaction was read"
    );
    // and once the older transaction ends (no write, no notification) it does
    older.commit().await.unwrap();
    consistency
        .wait_for(&db, &["ticket_list"], position, Duration::from_secs(20))
        .await
        .expect("the held-back write is read without another wake-up");
    stop.stop();
    group.await.unwrap();
    test_db.finish().await;
}
