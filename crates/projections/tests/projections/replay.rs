//! Re-applying events changes nothing (updates are guarded by the event's
//! position), and a projector whose version changed is rebuilt from zero.

use async_trait::async_trait;
use chrono::{Duration, Utc};
use tgcrm_domain::ticket::{
    Assign, Author, ChangeStatus, ChangeTags, EditMessage, MessageVisibility, TicketCommand,
};
use tgcrm_domain::values::{MessageText, Priority, Status};
use tgcrm_domain::{AgentId, TeamId};
use tgcrm_projections::Projector;
use tgcrm_projections::runner::{apply_batch, prepare};
use tgcrm_projections::schema::ddl;
use tgcrm_projections::ticket_list;
use tgcrm_store::reader::{EventFilter, read_after};
use tgcrm_store::{Backend, Db, Position, StoredEvent, Tx, args, checkpoints};
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::{
    add_message, count, customer_says, staff_says, tags, wait_until_readable,
};

use crate::support::{Desk, catch_up, conversation, dump, project, ticket_list};

/// A history that touches every guarded update: tags added and removed,
/// edits, status and priority changes, assignments.
async fn busy_history(desk: &Desk) {
    let agent = AgentId::new();
    for n in 0..4 {
        desk.clock.advance(Duration::minutes(1));
        let id = desk
            .open("acme", &format!("ticket {n}"), |o| {
                o.tags = tags(&["a", "b"])
            })
            .await;
        let staff = Author::Staff {
            token_id: "token:test".into(),
        };
        let note = add_message(staff.clone(), MessageVisibility::Internal, "note");
        let note_id = note.message_id;
        desk.run("acme", id, TicketCommand::AddMessage(note)).await;
        desk.run(
            "acme",
            id,
            TicketCommand::ChangeTags(ChangeTags {
                add: tags(&["c"]),
                remove: tags(&["a"]),
            }),
        )
        .await;
        desk.run(
            "acme",
            id,
            TicketCommand::ChangeTags(ChangeTags {
                add: tags(&["a"]),
                remove: tags(&["c"]),
            }),
        )
        .await;
        desk.run(
            "acme",
            id,
            TicketCommand::Assign(Assign {
                agent: Some(agent),
                team: Some(TeamId::new()),
                note: None,
            }),
        )
        .await;
        desk.run("acme", id, staff_says(MessageVisibility::Public, "reply"))
            .await;
        for text in ["edit one", "edit two"] {
            desk.run(
                "acme",
                id,
                TicketCommand::EditMessage(EditMessage {
                    message_id: note_id,
                    editor: staff.clone(),
                    text: MessageText::parse(text).unwrap(),
                }),
            )
            .await;
        }
        desk.run(
            "acme",
            id,
            TicketCommand::ChangePriority(tgcrm_domain::ticket::ChangePriority {
                to: Priority::Urgent,
            }),
        )
        .await;
        desk.run(
            "acme",
            id,
            TicketCommand::ChangeStatus(ChangeStatus {
                to: Status::Resolved,
                reason: None,
            }),
        )
        .await;
        // Reopens it.
        desk.run("acme", id, customer_says("one more thing")).await;
        if n % 2 == 0 {
            desk.run("acme", id, TicketCommand::Unassign { note: None })
                .await;
        }
    }
}

both_backends!(
    applying_the_same_events_again_changes_nothing,
    |db: Db| async move {
        let desk = Desk::new(&db);
        busy_history(&desk).await;
        project(&db).await;
        let before = dump(&db).await;
        assert_eq!(before[0].len(), 4);
        assert_eq!(before[2].len(), 4 * 4);
        assert!(before[2].iter().any(|m| m.contains("edit two")));
        assert!(!before[2].iter().any(|m| m.contains("edit one")));

        wait_until_readable(&db).await;
        let events = read_after(&db, Position::START, 10_000, &EventFilter::default())
            .await
            .unwrap();
        let middle = events[events.len() / 2].position;
        let end = events.last().unwrap().position;
        // Move each checkpoint back (to the start, then to the middle) and run again.
        for from in [Position::START, middle] {
            for p in [ticket_list(), conversation()] {
                checkpoints::save(&db, p.name(), p.version(), from, Utc::now())
                    .await
                    .unwrap();
                assert_eq!(prepare(&db, p.as_ref(), Utc::now()).await.unwrap(), from);
                let at = catch_up(&db, p.as_ref()).await;
                assert_eq!(at, end);
            }
            assert_eq!(dump(&db).await, before, "replayed from {from}");
        }
        // One batch applied twice in a row.
        for p in [ticket_list(), conversation()] {
            for _ in 0..2 {
                let (last, n) = apply_batch(&db, p.as_ref(), middle, 10_000, Utc::now())
                    .await
                    .unwrap()
                    .unwrap();
                assert_eq!(last, end);
                assert!(n > 0);
            }
        }
        assert_eq!(dump(&db).await, before);
    }
);

/// A projector that records which version of itself wrote each row.
struct Stamper {
    version: i64,
}

#[async_trait]
impl Projector for Stamper {
    fn name(&self) -> &'static str {
        "test_stamper"
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn tables(&self) -> &'static [&'static str] {
        &["rm_test_stamps"]
    }

    fn schema(&self, backend: Backend) -> Vec<String> {
        vec![ddl(
            backend,
            "CREATE TABLE IF NOT EXISTS rm_test_stamps (event_id TEXT PRIMARY KEY, written_by {int} NOT NULL)",
        )]
    }

    async fn apply(&self, tx: &mut Tx, event: &StoredEvent) -> anyhow::Result<()> {
        tx.execute(
            "INSERT INTO rm_test_stamps (event_id, written_by) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING",
            args![event.event_id.as_str(), self.version],
        )
        .await?;
        Ok(())
    }
}

async fn stamps(db: &Db, version: i64) -> i64 {
    count(
        db,
        "SELECT COUNT(*) AS n FROM rm_test_stamps WHERE written_by = $1",
        args![version],
    )
    .await
}

both_backends!(
    a_new_projector_version_rebuilds_from_the_start,
    |db: Db| async move {
        let desk = Desk::new(&db);
        desk.open("acme", "first", |_| {}).await;
        catch_up(&db, &Stamper { version: 1 }).await;
        assert_eq!(stamps(&db, 1).await, 2);

        desk.open("acme", "second", |_| {}).await;
        let v2 = Stamper { version: 2 };
        let end = catch_up(&db, &v2).await;
        assert_eq!(stamps(&db, 1).await, 0, "the old version's rows are gone");
        assert_eq!(stamps(&db, 2).await, 4, "every event, from the start");
        let cp = checkpoints::load(&db, "test_stamper")
            .await
            .unwrap()
            .unwrap();
        assert_eq!((cp.version, cp.position), (2, end));

        // The same version again resumes where it was: nothing is rebuilt.
        desk.open("acme", "third", |_| {}).await;
        assert_eq!(prepare(&db, &v2, Utc::now()).await.unwrap(), end);
        catch_up(&db, &v2).await;
        assert_eq!(stamps(&db, 2).await, 6);
    }
);

both_backends!(
    a_checkpoint_of_another_version_makes_the_ticket_list_rebuild,
    |db: Db| async move {
        let desk = Desk::new(&db);
        busy_history(&desk).await;
        project(&db).await;
        let good = dump(&db).await;
        db.execute(
            "UPDATE rm_tickets SET subject = 'garbage', message_count = 99",
            vec![],
        )
        .await
        .unwrap();
        db.execute("DELETE FROM rm_ticket_tags", vec![])
            .await
            .unwrap();
        let projector = ticket_list();
        let cp = checkpoints::load(&db, ticket_list::NAME)
            .await
            .unwrap()
            .unwrap();
        checkpoints::save(
            &db,
            ticket_list::NAME,
            projector.version() - 1,
            cp.position,
            Utc::now(),
        )
        .await
        .unwrap();

        catch_up(&db, projector.as_ref()).await;
        assert_eq!(dump(&db).await, good);
        let cp = checkpoints::load(&db, ticket_list::NAME)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(cp.version, projector.version());
    }
);
