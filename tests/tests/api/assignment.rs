//! Automatic assignment: each strategy, capacity, offline agents, manual
//! assignment counting toward load, the decision on record, and several
//! processes against one Postgres.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;
use serde_json::{Value, json};
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::{Backend, TestApp, spawn_app};

/// A ticket for these tests: normal priority, a customer with a valid username.
fn ticket_body(subject: &str) -> Value {
    json!({
        "subject": subject,
        "body": "Something is wrong.",
        "customer": { "telegram_user_id": 4242, "name": "Ann Example", "username": "ann_example" },
        "priority": "normal",
    })
}

/// An admin token and `n` online agents with the given capacity (and skills).
async fn desk(app: &TestApp, agents: &[(&str, Option<u32>, &[&str])]) -> (String, Vec<String>) {
    let admin = app.create_token(Role::Admin, None).await;
    let mut ids = Vec::new();
    for (name, capacity, skills) in agents {
        let mut body = json!({ "name": name, "skills": skills });
        if let Some(c) = capacity {
            body["max_concurrent"] = json!(c);
        }
        let id = app.register_agent(&admin, &body).await;
        app.set_availability(&admin, &id, "online").await;
        ids.push(id);
    }
    (admin, ids)
}

async fn open(app: &TestApp, token: &str, subject: &str, extra: Value) -> String {
    let mut body = ticket_body(subject);
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            b.insert(k.clone(), v.clone());
        }
    }
    app.open_ticket(token, &body).await.id()
}

/// The automatic `TicketAssigned` events of a ticket.
async fn auto_assignments(app: &TestApp, ticket: &str, token: &str) -> Vec<Value> {
    app.ticket_events(ticket, token)
        .await
        .into_iter()
        .filter(|e| {
            e["event_type"] == "TicketAssigned" && e["metadata"]["actor"] == "system:assignment"
        })
        .collect()
}

/// How many tickets each agent holds among `tickets`.
async fn holders(
    app: &TestApp,
    tickets: &[String],
    token: &str,
) -> BTreeMap<Option<String>, usize> {
    let mut out = BTreeMap::new();
    for t in tickets {
        *out.entry(app.assignee(t, token).await).or_insert(0) += 1;
    }
    out
}

both!(
    least_loaded_hands_each_new_ticket_to_the_agent_with_the_fewest_and_records_why,
    |app: TestApp| async move {
        let (admin, agents) = desk(&app, &[("Ann", None, &[]), ("Bob", None, &[])]).await;
        // Ann already holds a ticket, assigned by hand: it counts toward her load.
        let manual = open(&app, &admin, "Manual", json!({})).await;
        app.settle_assignment().await;
        app.post_json(
            &format!("/v1/tickets/{manual}/assignment"),
            &admin,
            &json!({ "agent_id": agents[0] }),
        )
        .await
        .expect(200);
        app.settle_assignment().await;

        let t = open(&app, &admin, "Printer on fire", json!({})).await;
        app.settle_assignment().await;
        let assigned = auto_assignments(&app, &t, &admin).await;
        assert_eq!(assigned.len(), 1, "assigned exactly once: {assigned:?}");
        let e = &assigned[0];
        assert_eq!(e["metadata"]["source"], "system");
        assert!(
            e["metadata"]["causation_id"].is_string(),
            "caused by the opening: {e}"
        );
        let payload = &e["payload"]["TicketAssigned"];
        let decision = &payload["decision"];
        assert_eq!(decision["strategy"], "least_loaded");
        let chosen = payload["agent_id"].as_str().unwrap();
        let candidates = decision["candidates"].as_array().unwrap();
        assert_eq!(candidates.len(), 2, "{decision}");
        assert_eq!(candidates[0]["agent_id"], chosen);
        assert_eq!(candidates[0]["chosen"], true);
        assert_eq!(candidates[1]["rejected"]["reason"], "outranked");
        let ann = candidates
            .iter()
            .find(|c| c["agent_id"] == agents[0].as_str())
            .unwrap();
        assert_eq!(ann["load"], 1, "the manual assignment counts: {decision}");
        assert_eq!(ann["capacity"], 5, "the default capacity");
        assert_eq!(chosen, agents[1], "Bob had fewer tickets");
    }
);

both!(
    round_robin_takes_turns_among_online_members,
    |app: TestApp| async move {
        let (admin, agents) = desk(
            &app,
            &[("Ann", None, &[]), ("Bob", None, &[]), ("Cid", None, &[])],
        )
        .await;
        app.put_json(
            "/v1/queues/all/strategy",
            &admin,
            &json!({ "strategy": "round_robin" }),
        )
        .await
        .expect(200);
        let mut tickets = Vec::new();
        for i in 0..6 {
            tickets.push(open(&app, &admin, &format!("T{i}"), json!({})).await);
            app.settle_assignment().await;
        }
        let mut order = Vec::new();
        for t in &tickets {
            order.push(app.assignee(t, &admin).await.unwrap());
        }
        assert_eq!(
            order[0..3].iter().collect::<BTreeSet<_>>().len(),
            3,
            "{order:?}"
        );
        assert_eq!(
            order[0..3],
            order[3..6],
            "the same turn order again: {order:?}"
        );
        let counts = holders(&app, &tickets, &admin).await;
        for a in &agents {
            assert_eq!(counts.get(&Some(a.clone())), Some(&2));
        }
    }
);

both!(
    the_skills_strategy_gives_a_ticket_only_to_agents_with_every_needed_skill,
    |app: TestApp| async move {
        let (admin, agents) = desk(
            &app,
            &[("Ann", None, &["billing", "de"]), ("Bob", None, &["de"])],
        )
        .await;
        app.put_json(
            "/v1/queues/all/strategy",
            &admin,
            &json!({ "strategy": "skills" }),
        )
        .await
        .expect(200);
        // Ann is the busier one, yet the only one who can take billing.
        for i in 0..2 {
            let t = open(&app, &admin, &format!("Busy {i}"), json!({})).await;
            app.post_json(
                &format!("/v1/tickets/{t}/assignment"),
                &admin,
                &json!({ "agent_id": agents[0] }),
            )
            .await
            .expect(200);
        }
        app.settle_assignment().await;
        let needs_billing = open(
            &app,
            &admin,
            "Refund",
            json!({"tags": ["skill:billing", "skill:de"]}),
        )
        .await;
        app.settle_assignment().await;
        let plain = open(&app, &admin, "Hello", json!({})).await;
        app.settle_assignment().await;
        assert_eq!(
            app.assignee(&needs_billing, &admin).await,
            Some(agents[0].clone())
        );
        assert_eq!(app.assignee(&plain, &admin).await, Some(agents[1].clone()));
        let e = auto_assignments(&app, &needs_billing, &admin).await;
        let decision = &e[0]["payload"]["TicketAssigned"]["decision"];
        assert_eq!(decision["strategy"], "skills");
        assert!(decision["team_id"].is_null(), "from the workspace queue");
        assert_eq!(decision["needs"], json!(["billing", "de"]));
        let bob = decision["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["agent_id"] == agents[1].as_str())
            .unwrap();
        assert_eq!(bob["rejected"]["reason"], "missing_skills");
        assert_eq!(bob["rejected"]["missing"], json!(["billing"]));
    }
);

both!(
    a_team_queue_hands_out_among_its_members_only_with_the_teams_strategy,
    |app: TestApp| async move {
        // Offline while the tickets are sorted into the team's queue.
        let admin = app.create_token(Role::Admin, None).await;
        let ann = app.register_agent(&admin, &json!({"name": "Ann"})).await;
        let bob = app.register_agent(&admin, &json!({"name": "Bob"})).await;
        let outsider = app.register_agent(&admin, &json!({"name": "Out"})).await;
        let team = app
            .create_team(
                &admin,
                &json!({"name": "Tier 2", "strategy": "round_robin", "default_capacity": 1,
                        "members": [ann, bob]}),
            )
            .await;
        let mut tickets = Vec::new();
        for i in 0..3 {
            let t = open(&app, &admin, &format!("Escalated {i}"), json!({})).await;
            app.post_json(
                &format!("/v1/tickets/{t}/assignment"),
                &admin,
                &json!({ "team_id": team }),
            )
            .await
            .expect(200);
            tickets.push(t);
            app.advance(chrono::Duration::minutes(1));
        }
        for a in [&ann, &bob, &outsider] {
            app.set_availability(&admin, a, "online").await;
        }
        app.settle_assignment().await;
        let mut got = BTreeSet::new();
        for t in &tickets[..2] {
            got.insert(app.assignee(t, &admin).await.unwrap());
        }
        assert_eq!(
            got,
            BTreeSet::from([ann.clone(), bob.clone()]),
            "one each, members only"
        );
        assert_eq!(
            app.assignee(&tickets[2], &admin).await,
            None,
            "the team's capacity of one holds the third"
        );
        let e = auto_assignments(&app, &tickets[0], &admin).await;
        let decision = &e[0]["payload"]["TicketAssigned"]["decision"];
        assert_eq!(decision["strategy"], "round_robin");
        assert_eq!(decision["team_id"], team.as_str());
        assert_eq!(decision["candidates"].as_array().unwrap().len(), 2);
    }
);

both!(
    nobody_goes_above_capacity_and_waiting_tickets_go_out_oldest_first_as_capacity_frees,
    |app: TestApp| async move {
        let (admin, agents) = desk(&app, &[("Ann", Some(1), &[])]).await;
        let first = open(&app, &admin, "First", json!({})).await;
        app.settle_assignment().await;
        app.advance(chrono::Duration::minutes(1));
        let second = open(&app, &admin, "Second", json!({})).await;
        app.advance(chrono::Duration::minutes(1));
        let third = open(&app, &admin, "Third", json!({})).await;
        app.settle_assignment().await;
        assert_eq!(app.assignee(&first, &admin).await, Some(agents[0].clone()));
        assert_eq!(app.assignee(&second, &admin).await, None, "Ann is full");
        assert_eq!(app.assignee(&third, &admin).await, None);
        let stats = app.get("/v1/queues/all/stats", &admin).await;
        stats.expect(200);
        assert_eq!(stats.body["depth"], 2);
        assert_eq!(stats.body["agents"][0]["load"], 1);
        assert_eq!(stats.body["agents"][0]["capacity"], 1);

        // Resolving frees a place: the oldest waiting ticket takes it.
        app.set_status(&first, &admin, "resolved").await.expect(200);
        app.settle_assignment().await;
        assert_eq!(app.assignee(&second, &admin).await, Some(agents[0].clone()));
        assert_eq!(app.assignee(&third, &admin).await, None);

        // Raising her capacity hands out the next one.
        app.patch_json(
            &format!("/v1/agents/{}", agents[0]),
            &admin,
            &json!({ "max_concurrent": 2 }),
        )
        .await
        .expect(200);
        app.settle_assignment().await;
        assert_eq!(app.assignee(&third, &admin).await, Some(agents[0].clone()));
    }
);

both!(
    agents_who_are_away_or_offline_get_nothing_until_they_come_online,
    |app: TestApp| async move {
        let admin = app.create_token(Role::Admin, None).await;
        let away = app.register_agent(&admin, &json!({"name": "Away"})).await;
        app.set_availability(&admin, &away, "away").await;
        let offline = app
            .register_agent(&admin, &json!({"name": "Offline"}))
            .await;
        let older = open(&app, &admin, "Older", json!({})).await;
        app.advance(chrono::Duration::minutes(5));
        let newer = open(&app, &admin, "Newer", json!({})).await;
        app.settle_assignment().await;
        assert_eq!(app.assignee(&older, &admin).await, None);
        assert_eq!(app.assignee(&newer, &admin).await, None);

        // The offline agent comes online with room for one: the older ticket is hers.
        app.patch_json(
            &format!("/v1/agents/{offline}"),
            &admin,
            &json!({ "max_concurrent": 1 }),
        )
        .await
        .expect(200);
        // The agent sets their own availability with their own token.
        let own = app.create_token(Role::Agent, Some(&offline)).await;
        app.post_json(
            &format!("/v1/agents/{offline}/availability"),
            &own,
            &json!({"availability": "online"}),
        )
        .await
        .expect(200);
        app.settle_assignment().await;
        assert_eq!(app.assignee(&older, &admin).await, Some(offline.clone()));
        assert_eq!(app.assignee(&newer, &admin).await, None);
        let e = auto_assignments(&app, &older, &admin).await;
        let away_seen = e[0]["payload"]["TicketAssigned"]["decision"]["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["agent_id"] == away.as_str())
            .cloned()
            .unwrap();
        assert_eq!(away_seen["rejected"]["reason"], "not_online");
        assert_eq!(away_seen["rejected"]["availability"], "away");
    }
);

both!(
    a_paused_queue_holds_its_tickets_and_resuming_hands_them_out,
    |app: TestApp| async move {
        let (admin, agents) = desk(&app, &[("Ann", None, &[])]).await;
        app.post_json("/v1/queues/all/pause", &admin, &json!({}))
            .await
            .expect(200);
        let t = open(&app, &admin, "While paused", json!({})).await;
        app.settle_assignment().await;
        assert_eq!(
            app.assignee(&t, &admin).await,
            None,
            "intake goes on, distribution waits"
        );
        let q = app.get("/v1/queues/all", &admin).await;
        q.expect(200);
        assert_eq!(q.body["paused"], true);
        assert_eq!(q.items().len(), 1);
        app.post_json("/v1/queues/all/resume", &admin, &json!({}))
            .await
            .expect(200);
        app.settle_assignment().await;
        assert_eq!(app.assignee(&t, &admin).await, Some(agents[0].clone()));
    }
);

both!(
    a_paused_team_queue_holds_only_that_teams_tickets,
    |app: TestApp| async move {
        let (admin, agents) = desk(&app, &[("Ann", None, &[])]).await;
        let team = app
            .create_team(&admin, &json!({"name": "Tier 2", "members": [agents[0]]}))
            .await;
        app.post_json(&format!("/v1/queues/{team}/pause"), &admin, &json!({}))
            .await
            .expect(200);
        // Ann steps away while the ticket is opened and moved to the team,
        // so the workspace queue cannot hand it to her in between.
        app.set_availability(&admin, &agents[0], "away").await;
        let in_team = open(&app, &admin, "Team ticket", json!({})).await;
        app.post_json(
            &format!("/v1/tickets/{in_team}/assignment"),
            &admin,
            &json!({ "team_id": team }),
        )
        .await
        .expect(200);
        app.set_availability(&admin, &agents[0], "online").await;
        let general = open(&app, &admin, "General ticket", json!({})).await;
        app.settle_assignment().await;
        assert_eq!(app.assignee(&in_team, &admin).await, None);
        assert_eq!(
            app.assignee(&general, &admin).await,
            Some(agents[0].clone())
        );
        app.post_json(&format!("/v1/queues/{team}/resume"), &admin, &json!({}))
            .await
            .expect(200);
        app.settle_assignment().await;
        assert_eq!(
            app.assignee(&in_team, &admin).await,
            Some(agents[0].clone())
        );
    }
);

both!(
    an_agent_who_releases_a_ticket_is_not_handed_it_again,
    |app: TestApp| async move {
        let (admin, agents) = desk(&app, &[("Ann", None, &[]), ("Bob", Some(1), &[])]).await;
        // Bob is full.
        let busy = open(&app, &admin, "Bob's", json!({})).await;
        app.post_json(
            &format!("/v1/tickets/{busy}/assignment"),
            &admin,
            &json!({ "agent_id": agents[1] }),
        )
        .await
        .expect(200);
        let t = open(&app, &admin, "Hot potato", json!({})).await;
        app.settle_assignment().await;
        assert_eq!(app.assignee(&t, &admin).await, Some(agents[0].clone()));
        app.delete(&format!("/v1/tickets/{t}/assignment"), &admin)
            .await
            .expect(200);
        app.settle_assignment().await;
        assert_eq!(
            app.assignee(&t, &admin).await,
            None,
            "it waits for someone else"
        );
        app.set_status(&busy, &admin, "resolved").await.expect(200);
        app.settle_assignment().await;
        assert_eq!(app.assignee(&t, &admin).await, Some(agents[1].clone()));
    }
);

/// Two `crm serve` processes against one Postgres database, tickets opened
/// concurrently through both: no ticket is handed out twice and nobody goes
/// above capacity, at any point of the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_never_assign_a_ticket_twice_nor_overfill_an_agent() {
    let one = spawn_app(Backend::Postgres).await;
    let two = one.spawn_peer().await;
    let (admin, agents) = desk(
        &one,
        &[
            ("Ann", Some(3), &[]),
            ("Bob", Some(2), &[]),
            ("Cid", Some(4), &[]),
        ],
    )
    .await;
    let capacity: BTreeMap<String, usize> = agents.iter().cloned().zip([3, 2, 4]).collect();
    let opened = (0..24).map(|i| {
        let app = if i % 2 == 0 { one.clone() } else { two.clone() };
        let admin = admin.clone();
        tokio::spawn(async move {
            app.open_ticket(&admin, &ticket_body(&format!("Rush {i}")))
                .await
                .id()
        })
    });
    let tickets: Vec<String> = join_all(opened)
        .await
        .into_iter()
        .map(|r| r.expect("the request task"))
        .collect();
    one.settle_assignment().await;

    // Fold the log: who holds what after each event.
    let mut assigned_automatically: BTreeMap<String, usize> = BTreeMap::new();
    let mut held: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/v1/events?type=TicketAssigned&limit=100&after={c}"),
            None => "/v1/events?type=TicketAssigned&limit=100".to_owned(),
        };
        let page = one.get(&path, &admin).await;
        page.expect(200);
        for e in page.items() {
            let ticket = e["aggregate_id"].as_str().unwrap().to_owned();
            if e["metadata"]["actor"] == "system:assignment" {
                *assigned_automatically.entry(ticket.clone()).or_insert(0) += 1;
            }
            for set in held.values_mut() {
                set.remove(&ticket);
            }
            if let Some(agent) = e["payload"]["TicketAssigned"]["agent_id"].as_str() {
                let set = held.entry(agent.to_owned()).or_default();
                set.insert(ticket);
                assert!(
                    set.len() <= capacity[agent],
                    "agent {agent} went above capacity {}: {set:?}",
                    capacity[agent]
                );
            }
        }
        match page.body["next_cursor"].as_str() {
            Some(c) if !page.items().is_empty() => cursor = Some(c.to_owned()),
            _ => break,
        }
    }
    for (ticket, n) in &assigned_automatically {
        assert_eq!(*n, 1, "ticket {ticket} was assigned {n} times");
    }
    // Every place was filled: 9 of the 24 tickets are out, 15 wait.
    assert_eq!(assigned_automatically.len(), 9, "{held:?}");
    let waiting = holders(&one, &tickets, &admin).await;
    assert_eq!(waiting.get(&None), Some(&15));
    two.finish().await;
    one.finish().await;
}
