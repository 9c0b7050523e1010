//! The ticket list: every filter of `GET /v1/tickets`, newest first, and
//! keyset cursors that walk all pages without gaps or repeats.

use chrono::Duration;
use tgcrm_domain::ticket::{Assign, ChangeStatus, ChangeTags, MessageVisibility, TicketCommand};
use tgcrm_domain::values::{Priority, Status};
use tgcrm_domain::{AgentId, TeamId, TicketId};
use tgcrm_projections::cursor::decode_time_id;
use tgcrm_projections::ticket_list::{TicketFilter, TicketSummary, list};
use tgcrm_store::Db;
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::{customer, staff_says, tags};

use crate::support::{Desk, project, t0};

fn filter(workspace: &str) -> TicketFilter {
    TicketFilter {
        workspace_id: workspace.to_owned(),
        limit: 100,
        ..Default::default()
    }
}

async fn ids(db: &Db, f: TicketFilter) -> Vec<TicketId> {
    let page = list(db, &f).await.unwrap();
    assert!(page.next_cursor.is_none(), "one page expected");
    page.items
        .iter()
        .map(|t| t.ticket_id.parse().unwrap())
        .collect()
}

fn status(to: Status) -> TicketCommand {
    TicketCommand::ChangeStatus(ChangeStatus { to, reason: None })
}

both_backends!(
    the_ticket_list_filters_by_every_field_newest_first,
    |db: Db| async move {
        let desk = Desk::new(&db);
        let (agent_x, agent_y) = (AgentId::new(), AgentId::new());
        let support = TeamId::new();
        let hour = Duration::hours(1);

        let t1 = desk
            .open("acme", "Low billing", |o| {
                o.priority = Priority::Low;
                o.tags = tags(&["billing"]);
            })
            .await;
        desk.clock.advance(hour);
        let t2 = desk
            .open("acme", "High VIP billing", |o| {
                o.priority = Priority::High;
                o.tags = tags(&["billing", "vip"]);
                o.customer = customer(7, "Grace");
            })
            .await;
        let assign = |agent, team| {
            TicketCommand::Assign(Assign {
                agent,
                team,
                note: None,
            })
        };
        desk.run("acme", t2, assign(Some(agent_x), Some(support)))
            .await;
        desk.run("acme", t2, staff_says(MessageVisibility::Public, "Looking"))
            .await;
        // Another workspace's ticket, created at the same time, never shows.
        let other = desk
            .open("globex", "Elsewhere", |o| {
                o.priority = Priority::High;
                o.tags = tags(&["billing"]);
            })
            .await;
        desk.clock.advance(hour);
        let t3 = desk
            .open("acme", "Urgent bug", |o| {
                o.priority = Priority::Urgent;
                o.tags = tags(&["bug"]);
            })
            .await;
        desk.run("acme", t3, assign(None, Some(support))).await;
        desk.run("acme", t3, status(Status::InProgress)).await;
        desk.clock.advance(hour);
        let t4 = desk.open("acme", "Resolved one", |_| {}).await;
        desk.run("acme", t4, assign(Some(agent_y), None)).await;
        desk.run("acme", t4, status(Status::Resolved)).await;
        desk.clock.advance(hour);
        let t5 = desk
            .open("acme", "Waiting", |o| o.tags = tags(&["vip"]))
            .await;
        desk.run("acme", t5, status(Status::WaitingOnCustomer))
            .await;
        desk.run(
            "acme",
            t5,
            TicketCommand::ChangeTags(ChangeTags {
                add: tags(&["later"]),
                remove: tags(&["vip"]),
            }),
        )
        .await;
        desk.clock.advance(hour);
        let t6 = desk.open("acme", "Archived", |_| {}).await;
        desk.run("acme", t6, status(Status::Resolved)).await;
        desk.run("acme", t6, status(Status::Closed)).await;
        desk.run("acme", t6, TicketCommand::Archive).await;

        project(&db).await;

        let f = |adjust: &dyn Fn(&mut TicketFilter)| {
            let mut f = filter("acme");
            adjust(&mut f);
            f
        };
        assert_eq!(ids(&db, filter("acme")).await, [t5, t4, t3, t2, t1]);
        assert_eq!(ids(&db, filter("globex")).await, [other]);
        assert_eq!(
            ids(&db, f(&|f| f.include_archived = true)).await,
            [t6, t5, t4, t3, t2, t1]
        );
        assert_eq!(
            ids(&db, f(&|f| f.status = Some("open".into()))).await,
            [t2, t1]
        );
        assert_eq!(
            ids(&db, f(&|f| f.status = Some("in_progress".into()))).await,
            [t3]
        );
        assert_eq!(
            ids(&db, f(&|f| f.status = Some("waiting_on_customer".into()))).await,
            [t5]
        );
        assert!(
            ids(&db, f(&|f| f.status = Some("closed".into())))
                .await
                .is_empty()
        );
        assert_eq!(
            ids(&db, f(&|f| f.priority = Some("high".into()))).await,
            [t2]
        );
        assert_eq!(
            ids(&db, f(&|f| f.priority = Some("normal".into()))).await,
            [t5, t4]
        );
        assert_eq!(
            ids(&db, f(&|f| f.assignee = Some(Some(agent_x.to_string())))).await,
            [t2]
        );
        assert_eq!(
            ids(&db, f(&|f| f.assignee = Some(None))).await,
            [t5, t3, t1],
            "unassigned: no agent, whether or not a team has it"
        );
        assert_eq!(
            ids(&db, f(&|f| f.team = Some(support.to_string()))).await,
            [t3, t2]
        );
        assert_eq!(
            ids(&db, f(&|f| f.tag = Some("billing".into()))).await,
            [t2, t1]
        );
        assert_eq!(
            ids(&db, f(&|f| f.tag = Some("vip".into()))).await,
            [t2],
            "a removed tag no longer matches"
        );
        assert_eq!(ids(&db, f(&|f| f.tag = Some("later".into()))).await, [t5]);
        assert_eq!(
            ids(&db, f(&|f| f.created_after = Some(t0() + hour * 2))).await,
            [t5, t4, t3],
            "created_after is inclusive"
        );
        assert_eq!(
            ids(&db, f(&|f| f.created_before = Some(t0() + hour * 2))).await,
            [t2, t1],
            "created_before is exclusive"
        );
        assert_eq!(
            ids(
                &db,
                f(&|f| {
                    f.created_after = Some(t0() + hour);
                    f.created_before = Some(t0() + hour * 3);
                })
            )
            .await,
            [t3, t2]
        );
        assert_eq!(
            ids(
                &db,
                f(&|f| {
                    f.status = Some("open".into());
                    f.priority = Some("high".into());
                    f.tag = Some("billing".into());
                    f.assignee = Some(Some(agent_x.to_string()));
                    f.team = Some(support.to_string());
                })
            )
            .await,
            [t2]
        );

        // The row carries what list pages show.
        let page = list(&db, &f(&|f| f.priority = Some("high".into())))
            .await
            .unwrap();
        let row: &TicketSummary = &page.items[0];
        assert_eq!(row.subject, "High VIP billing");
        assert_eq!(row.customer_telegram_id, 7);
        assert_eq!(row.customer_name, "Grace");
        assert_eq!(row.channel, "api");
        assert_eq!(row.message_count, 2);
        assert_eq!(row.first_response_at, Some(t0() + hour));
        assert_eq!(row.created_at, t0() + hour);
        assert_eq!(row.version, 4);
        assert_eq!(row.tags, serde_json::json!(["billing", "vip"]));
        assert!(!row.archived);
        let resolved = list(&db, &f(&|f| f.status = Some("resolved".into())))
            .await
            .unwrap();
        assert_eq!(resolved.items[0].resolved_at, Some(t0() + hour * 3));
        assert_eq!(
            resolved.items[0].assignee_agent_id,
            Some(agent_y.to_string())
        );
        assert_eq!(resolved.items[0].team_id, None);
    }
);

/// Walk every page of `f` with `limit`, checking each page's size.
async fn walk(db: &Db, mut f: TicketFilter, limit: i64) -> Vec<String> {
    f.limit = limit;
    let mut seen = Vec::new();
    loop {
        let page = list(db, &f).await.unwrap();
        assert!(page.items.len() as i64 <= limit);
        seen.extend(page.items.iter().map(|t| t.ticket_id.clone()));
        match page.next_cursor {
            Some(cursor) => {
                assert_eq!(
                    page.items.len() as i64,
                    limit,
                    "only the last page is short"
                );
                f.after = Some(decode_time_id(&cursor).unwrap());
            }
            None => return seen,
        }
    }
}

both_backends!(cursors_walk_every_page_once_in_order, |db: Db| async move {
    let desk = Desk::new(&db);
    // 23 tickets; groups of three share a creation time, so the id breaks ties.
    for n in 0..23 {
        if n % 3 == 0 {
            desk.clock.advance(Duration::minutes(1));
        }
        let priority = if n % 2 == 0 {
            Priority::High
        } else {
            Priority::Low
        };
        desk.open("paged", &format!("ticket {n}"), |o| o.priority = priority)
            .await;
    }
    project(&db).await;

    let all = walk(&db, filter("paged"), 100).await;
    assert_eq!(all.len(), 23);
    let rows = list(&db, &filter("paged")).await.unwrap().items;
    assert!(
        rows.windows(2)
            .all(|w| (w[0].created_at, &w[0].ticket_id) > (w[1].created_at, &w[1].ticket_id)),
        "newest first, then by id"
    );
    for limit in [1, 5, 7, 22, 23] {
        assert_eq!(
            walk(&db, filter("paged"), limit).await,
            all,
            "limit {limit}"
        );
    }
    // Cursors compose with filters.
    let mut high = filter("paged");
    high.priority = Some("high".into());
    let high_all = walk(&db, high.clone(), 100).await;
    assert_eq!(high_all.len(), 12);
    assert_eq!(walk(&db, high, 5).await, high_all);
    assert!(decode_time_id("not a cursor").is_err());
});
