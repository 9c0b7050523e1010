//! Batched projectors fold a batch in memory and write each changed row once.
//! Whatever the batch size, every projector must build exactly the tables it
//! builds one event at a time, and applying a batch again must change nothing.

use std::collections::BTreeMap;

use chrono::Duration;
use std::sync::Arc;
use tgcrm_domain::agent::{Agent, AgentCommand, AgentName, Profile};
use tgcrm_domain::sla::{Calendar, Metric, SlaTargets};
use tgcrm_domain::ticket::{
    ApplySla, Assign, Author, ChangePriority, ChangeStatus, ChangeTags, EditMessage,
    MessageVisibility, RecordSla, SetFields, SlaMoment, TicketCommand,
};
use tgcrm_domain::values::{FieldKey, Fields, MessageText, Priority, Status};
use tgcrm_domain::{AgentId, SlaPolicyId, TeamId};

use tgcrm_projections::runner::RunnerConfig;
use tgcrm_projections::{Consistency, Projector};
use tgcrm_store::reader::{EventFilter, read_after};
use tgcrm_store::shutdown::stop_signal;
use tgcrm_store::{Backend, Db, Position, StoredEvent, args};
use tgcrm_store::{SystemClock, checkpoints};
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::{
    add_message, ctx, customer_says, dump_table, staff_says, tags, wait_until_readable,
};

use crate::support::Desk;

fn apply_sla(policy_id: SlaPolicyId, version: i64) -> TicketCommand {
    TicketCommand::ApplySla(ApplySla {
        policy_id,
        policy_version: version,
        policy_name: "Standard".into(),
        calendar: Calendar::AlwaysOpen,
        warning_percent: 80,
        targets: SlaTargets::parse(Some(3600), Some(1800), Some(7200)).unwrap(),
    })
}

fn segment(value: &str) -> Fields {
    let mut f = Fields::default();
    f.insert(
        FieldKey::parse("segment").unwrap(),
        serde_json::Value::String(value.into()),
    );
    f
}

fn status(to: Status) -> TicketCommand {
    TicketCommand::ChangeStatus(ChangeStatus { to, reason: None })
}

/// Tickets through every kind of change the ticket projectors read, their
/// lives interleaved so one batch holds events of many tickets: SLA applied
/// and re-applied, warnings and breaches, replies, edits, tags, fields,
/// assignment, waiting on the customer, resolution, reopening, archiving.
async fn history(desk: &Desk) {
    let agents = [AgentId::new(), AgentId::new()];
    let team = TeamId::new();
    let policy = SlaPolicyId::new();
    let staff = Author::Staff {
        token_id: "token:test".into(),
    };
    // Other aggregates between the tickets' events, so a shared read of the
    // log hands each projector only what it reads.
    for (n, agent) in agents.iter().enumerate() {
        register(desk, *agent, &format!("Agent {n}")).await;
    }
    let mut tickets = Vec::new();
    for n in 0..9 {
        desk.clock.advance(Duration::minutes(3));
        let id = desk
            .open("acme", &format!("ticket {n}"), |o| {
                o.tags = tags(&["a", "b"]);
                if n % 2 == 0 {
                    o.fields = segment("vip");
                    o.priority = Priority::High;
                }
            })
            .await;
        desk.run("acme", id, apply_sla(policy, 1)).await;
        tickets.push(id);
    }
    let mut notes = BTreeMap::new();
    for (n, id) in tickets.iter().enumerate() {
        let note = add_message(staff.clone(), MessageVisibility::Internal, "note");
        notes.insert(*id, note.message_id);
        desk.run("acme", *id, TicketCommand::AddMessage(note)).await;
        desk.run(
            "acme",
            *id,
            TicketCommand::Assign(Assign {
                agent: Some(agents[n % 2]),
                team: Some(team),
                note: None,
            }),
        )
        .await;
    }
    // Past the warning of the first response, then past its breach.
    desk.clock.advance(Duration::minutes(45));
    for id in &tickets[..3] {
        desk.run(
            "acme",
            *id,
            TicketCommand::RecordSla(RecordSla {
                metric: Metric::FirstResponse,
                moment: SlaMoment::Warning,
            }),
        )
        .await;
    }
    desk.clock.advance(Duration::minutes(20));
    desk.run(
        "acme",
        tickets[0],
        TicketCommand::RecordSla(RecordSla {
            metric: Metric::FirstResponse,
            moment: SlaMoment::Breach,
        }),
    )
    .await;
    for (n, id) in tickets.iter().enumerate() {
        desk.clock.advance(Duration::minutes(1));
        desk.run("acme", *id, staff_says(MessageVisibility::Public, "reply"))
            .await;
        desk.run(
            "acme",
            *id,
            TicketCommand::EditMessage(EditMessage {
                message_id: notes[id],
                editor: staff.clone(),
                text: MessageText::parse(&format!("edited {n}")).unwrap(),
            }),
        )
        .await;
        desk.run(
            "acme",
            *id,
            TicketCommand::ChangeTags(ChangeTags {
                add: tags(&["c"]),
                remove: tags(&["a"]),
            }),
        )
        .await;
        match n % 3 {
            0 => {
                desk.run("acme", *id, status(Status::WaitingOnCustomer))
                    .await;
                desk.clock.advance(Duration::minutes(5));
                desk.run("acme", *id, customer_says("here you go")).await;
                desk.run(
                    "acme",
                    *id,
                    TicketCommand::ChangePriority(ChangePriority {
                        to: Priority::Urgent,
                    }),
                )
                .await;
            }
            1 => {
                desk.run("acme", *id, status(Status::Resolved)).await;
                desk.clock.advance(Duration::minutes(2));
                // Reopens it, under a new version of the policy.
                desk.run("acme", *id, customer_says("one more thing")).await;
                desk.run("acme", *id, apply_sla(policy, 2)).await;
                desk.run("acme", *id, TicketCommand::Unassign { note: None })
                    .await;
            }
            _ => {
                desk.run(
                    "acme",
                    *id,
                    TicketCommand::SetFields(SetFields {
                        set: segment("smb"),
                        remove: Default::default(),
                    }),
                )
                .await;
                desk.run("acme", *id, status(Status::Resolved)).await;
                desk.run("acme", *id, status(Status::Closed)).await;
                desk.run("acme", *id, TicketCommand::Archive).await;
            }
        }
    }
}

async fn register(desk: &Desk, agent: AgentId, name: &str) {
    tgcrm_store::commands::execute::<Agent>(
        &desk.store,
        &desk.clock,
        &agent.to_string(),
        &ctx("acme"),
        AgentCommand::Register {
            agent_id: agent,
            workspace_id: desk_workspace(),
            profile: Profile {
                name: AgentName::parse(name).unwrap(),
                telegram_user_id: None,
                telegram_username: None,
                teams: Default::default(),
                skills: Default::default(),
                max_concurrent: None,
            },
        },
    )
    .await
    .unwrap();
}

fn desk_workspace() -> tgcrm_domain::WorkspaceId {
    ctx("acme").workspace_id
}

/// Every table of `projector`, rows sorted: compare two to compare contents.
async fn tables(db: &Db, projector: &dyn Projector) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for table in projector.tables() {
        let mut rows = dump_table(db, table, "1").await;
        rows.sort();
        out.push(rows);
    }
    out
}

/// Build `projector`'s tables from nothing, `size` events per transaction.
/// The names of the indexes on `tables` (of the tables the API reads).
async fn indexes(db: &Db, tables: &[&str]) -> Vec<String> {
    #[derive(sqlx::FromRow)]
    struct Index {
        name: String,
    }
    let mut out = Vec::new();
    for table in tables {
        let sql = match db.backend() {
            Backend::Postgres => {
                "SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' AND tablename = $1"
            }
            Backend::Sqlite => {
                "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = $1"
            }
        };
        let rows: Vec<Index> = db.fetch_all(sql, args![*table]).await.unwrap();
        out.extend(rows.into_iter().map(|r| r.name));
    }
    out
}

async fn build(db: &Db, projector: &dyn Projector, events: &[StoredEvent], size: usize) {
    let mut tx = db.begin().await.unwrap();
    for table in projector.tables() {
        tx.execute(&format!("DROP TABLE IF EXISTS {table}"), vec![])
            .await
            .unwrap();
    }
    for stmt in projector.schema(db.backend()) {
        tx.execute(&stmt, vec![]).await.unwrap();
    }
    tx.commit().await.unwrap();
    for chunk in events.chunks(size) {
        let mut tx = db.begin().await.unwrap();
        projector
            .apply_batch(&mut tx, chunk)
            .await
            .unwrap_or_else(|e| panic!("{} (batches of {size}): {e:?}", projector.name()));
        tx.commit().await.unwrap();
    }
}

both_backends!(
    batches_of_any_size_build_the_same_tables,
    |db: Db| async move {
        let desk = Desk::new(&db);
        history(&desk).await;
        wait_until_readable(&db).await;
        let events = read_after(&db, Position::START, 100_000, &EventFilter::default())
            .await
            .unwrap();
        assert!(events.len() > 100, "{} events", events.len());
        let mut built = BTreeMap::new();
        for projector in tgcrm_projections::all() {
            let p = projector.as_ref();
            build(&db, p, &events, 1).await;
            let one_by_one = tables(&db, p).await;
            built.insert(p.name(), one_by_one.clone());
            for size in [3, 50, events.len()] {
                build(&db, p, &events, size).await;
                assert_eq!(
                    tables(&db, p).await,
                    one_by_one,
                    "{} in batches of {size}",
                    p.name()
                );
            }
            // The second half again, as after a crash before the checkpoint.
            let mut tx = db.begin().await.unwrap();
            p.apply_batch(&mut tx, &events[events.len() / 2..])
                .await
                .unwrap();
            tx.commit().await.unwrap();
            assert_eq!(
                tables(&db, p).await,
                one_by_one,
                "{} after a batch applied twice",
                p.name()
            );
        }
        // The history reached the tables that matter.
        let sla = tables(&db, &tgcrm_projections::sla::deadlines::DeadlinesProjector).await;
        assert!(sla[1].iter().any(|r| r.contains("breached")), "{sla:?}");
        let agents = tables(&db, &tgcrm_projections::agents::AgentsProjector).await;
        assert!(agents[0].len() >= 2, "{agents:?}");

        // `crm replay`: all of them from one shared read of the log, a few
        // at a time, build the same tables again.
        let all = tgcrm_projections::all();
        let reports = tgcrm_projections::rebuild::rebuild_all(&db, &all, &desk.clock, false, 3)
            .await
            .unwrap();
        assert_eq!(reports.len(), all.len());
        for (report, p) in reports.iter().zip(&all) {
            assert_eq!(report.projector, p.name(), "reports in the order asked for");
            assert_eq!(report.events, events.len() as u64, "{}", p.name());
            assert_eq!(
                tables(&db, p.as_ref()).await,
                built[p.name()],
                "{} rebuilt by crm replay",
                p.name()
            );
            // Its query indexes, left for last, are there too.
            let made = indexes(&db, p.tables()).await;
            for stmt in p.schema(db.backend()) {
                if let Some(name) = tgcrm_projections::shadow::index_name(&stmt) {
                    assert!(
                        made.iter().any(|m| m == name),
                        "{}: no {name} in {made:?}",
                        p.name()
                    );
                }
            }
        }

        // The server's group, its members at different positions: half of
        // them at the head, the others with no checkpoint (they start over),
        // all from one read per batch, build the same tables again.
        for p in all.iter().skip(1).step_by(2) {
            checkpoints::delete(&db, p.name()).await.unwrap();
        }
        let names: Vec<&'static str> = all.iter().map(|p| p.name()).collect();
        let consistency = Consistency::default();
        let (stop, stopped) = stop_signal();
        let group = tokio::spawn(tgcrm_projections::group::run(
            desk.store.clone(),
            all.clone(),
            consistency.clone(),
            Arc::new(SystemClock),
            RunnerConfig {
                batch_size: 7,
                poll_interval: std::time::Duration::from_millis(50),
            },
            stopped,
        ));
        consistency
            .wait_for(
                &db,
                &names,
                events.last().unwrap().position,
                std::time::Duration::from_secs(60),
            )
            .await
            .expect("every member reaches the head");
        stop.stop();
        group.await.unwrap();
        for p in &all {
            assert_eq!(
                tables(&db, p.as_ref()).await,
                built[p.name()],
                "{} built by the group",
                p.name()
            );
        }
    }
);
