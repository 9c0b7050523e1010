//! `/v1/queues/{team}`: order, paging, manual order, stats, settings, roles
//! and workspace isolation. No agent is online here, so nothing is handed out.

use serde_json::{Value, json};
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::TestApp;

/// A ticket for these tests: normal priority, a customer with a valid username.
fn ticket_body(subject: &str) -> Value {
    json!({
        "subject": subject,
        "body": "Something is wrong.",
        "customer": { "telegram_user_id": 4242, "name": "Ann Example", "username": "ann_example" },
        "priority": "normal",
    })
}

async fn open(app: &TestApp, token: &str, subject: &str, priority: &str) -> (String, String) {
    let mut body = ticket_body(subject);
    body["priority"] = json!(priority);
    let a = app.open_ticket(token, &body).await;
    (a.id(), a.position())
}

/// A read with `consistent_with`: the server waits a bounded time and answers
/// 503 (with `Retry-After`) when the read model is slower; retry as a client would.
async fn get_consistent(app: &TestApp, path: &str, token: &str) -> crate::helpers::Answer {
    for _ in 0..30 {
        let a = app.get(path, token).await;
        if a.status != 503 {
            return a;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    app.get(path, token).await
}

fn ticket_ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["ticket_id"].as_str().unwrap().to_owned())
        .collect()
}

/// The whole queue, in order, once it reflects `position`.
async fn queue(app: &TestApp, token: &str, queue: &str, position: &str) -> Vec<String> {
    let a = get_consistent(
        app,
        &format!("/v1/queues/{queue}?consistent_with={position}"),
        token,
    )
    .await;
    a.expect(200);
    ticket_ids(&a.body)
}

both!(
    the_queue_orders_by_priority_then_longest_waiting_and_pages_with_a_cursor,
    |app: TestApp| async move {
        let admin = app.create_token(Role::Admin, None).await;
        let (low, _) = open(&app, &admin, "Low", "low").await;
        app.advance(chrono::Duration::minutes(1));
        let (urgent_old, _) = open(&app, &admin, "Urgent, older", "urgent").await;
        app.advance(chrono::Duration::minutes(1));
        let (normal, _) = open(&app, &admin, "Normal", "normal").await;
        app.advance(chrono::Duration::minutes(1));
        let (urgent_new, last) = open(&app, &admin, "Urgent, newer", "urgent").await;

        let first = get_consistent(
            &app,
            &format!("/v1/queues/all?limit=2&consistent_with={last}"),
            &admin,
        )
        .await;
        first.expect(200);
        assert_eq!(first.body["queue"], "all");
        assert_eq!(first.body["paused"], false);
        assert_eq!(
            ticket_ids(&first.body),
            vec![urgent_old.clone(), urgent_new.clone()]
        );
        assert_eq!(first.body["items"][0]["position"], 1);
        assert_eq!(first.body["items"][0]["subject"], "Urgent, older");
        assert_eq!(
            first.body["items"][0]["waiting_since"],
            "2026-03-02T09:01:00Z"
        );
        // No SLA policy here: no due time (see api::sla for ordering by it).
        assert!(first.body["items"][0]["sla_due_at"].is_null());
        let cursor = first.body["next_cursor"].as_str().unwrap();
        let second = app
            .get(&format!("/v1/queues/all?limit=2&cursor={cursor}"), &admin)
            .await;
        second.expect(200);
        assert_eq!(ticket_ids(&second.body), vec![normal, low]);
        assert_eq!(second.body["items"][1]["position"], 4);
        assert!(second.body["next_cursor"].is_null());

        app.get("/v1/queues/all?cursor=garbage", &admin)
            .await
            .expect_problem(422);
        app.get("/v1/queues/all?limit=0", &admin)
            .await
            .expect_problem(422);

        // A resolved ticket and an assigned one leave the queue.
        let agent = app.register_agent(&admin, &json!({"name": "Ann"})).await;
        app.post_json(
            &format!("/v1/tickets/{urgent_old}/assignment"),
            &admin,
            &json!({ "agent_id": agent }),
        )
        .await
        .expect(200);
        let done = app.set_status(&urgent_new, &admin, "resolved").await;
        done.expect(200);
        let left = queue(&app, &admin, "all", &done.position()).await;
        assert_eq!(left.len(), 2);
        assert!(!left.contains(&urgent_old) && !left.contains(&urgent_new));
    }
);

both!(
    moving_and_pinning_tickets_is_kept_as_new_tickets_arrive,
    |app: TestApp| async move {
        let admin = app.create_token(Role::Admin, None).await;
        let (a, _) = open(&app, &admin, "A", "normal").await;
        app.advance(chrono::Duration::minutes(1));
        let (b, _) = open(&app, &admin, "B", "normal").await;
        app.advance(chrono::Duration::minutes(1));
        let (c, pos) = open(&app, &admin, "C", "normal").await;
        assert_eq!(
            queue(&app, &admin, "all", &pos).await,
            vec![a.clone(), b.clone(), c.clone()]
        );

        let moved = app
            .post_json(
                "/v1/queues/all/reorder",
                &admin,
                &json!({"ticket_id": c, "position": 2}),
            )
            .await;
        moved.expect(200);
        assert_eq!(moved.body["manual_order"], json!([a, c]));
        assert_eq!(
            queue(&app, &admin, "all", &moved.position()).await,
            vec![a.clone(), c.clone(), b.clone()]
        );

        // An urgent newcomer goes ahead of the default order, not of the placed tickets.
        app.advance(chrono::Duration::minutes(1));
        let (u, pos) = open(&app, &admin, "U", "urgent").await;
        assert_eq!(
            queue(&app, &admin, "all", &pos).await,
            vec![a.clone(), c.clone(), u.clone(), b.clone()]
        );
        let page = get_consistent(
            &app,
            &format!("/v1/queues/all?consistent_with={pos}"),
            &admin,
        )
        .await;
        assert_eq!(page.body["items"][0]["placed"], true);
        assert_eq!(page.body["items"][2]["placed"], false);

        let pinned = app
            .post_json(
                "/v1/queues/all/reorder",
                &admin,
                &json!({"ticket_id": b, "pin": true}),
            )
            .await;
        pinned.expect(200);
        assert_eq!(
            queue(&app, &admin, "all", &pinned.position()).await,
            vec![b.clone(), a.clone(), c.clone(), u.clone()]
        );
        let released = app
            .post_json(
                "/v1/queues/all/reorder",
                &admin,
                &json!({"ticket_id": a, "pin": false}),
            )
            .await;
        released.expect(200);
        assert_eq!(
            queue(&app, &admin, "all", &released.position()).await,
            vec![b.clone(), c.clone(), u.clone(), a.clone()]
        );

        // Refusals.
        let elsewhere = uuid::Uuid::now_v7().to_string();
        app.post_json(
            "/v1/queues/all/reorder",
            &admin,
            &json!({"ticket_id": elsewhere, "position": 1}),
        )
        .await
        .expect_problem(409);
        for bad in [
            json!({"ticket_id": a, "position": 0}),
            json!({"ticket_id": a, "position": 1, "pin": true}),
            json!({"ticket_id": a}),
            json!({"ticket_id": "nope", "position": 1}),
        ] {
            app.post_json("/v1/queues/all/reorder", &admin, &bad)
                .await
                .expect_problem(422);
        }
        let (agent, _) = app.agent().await;
        app.post_json(
            "/v1/queues/all/reorder",
            &agent,
            &json!({"ticket_id": a, "pin": true}),
        )
        .await
        .expect_problem(403);
    }
);

both!(
    a_team_queue_holds_that_teams_tickets_and_keeps_its_own_order,
    |app: TestApp| async move {
        let admin = app.create_token(Role::Admin, None).await;
        let team = app.create_team(&admin, &json!({"name": "Billing"})).await;
        let (mine1, _) = open(&app, &admin, "Mine 1", "normal").await;
        let (mine2, _) = open(&app, &admin, "Mine 2", "high").await;
        let (other, _) = open(&app, &admin, "Other", "urgent").await;
        let mut last = String::new();
        for t in [&mine1, &mine2] {
            let a = app
                .post_json(
                    &format!("/v1/tickets/{t}/assignment"),
                    &admin,
                    &json!({"team_id": team}),
                )
                .await;
            a.expect(200);
            last = a.position();
        }
        assert_eq!(
            queue(&app, &admin, &team, &last).await,
            vec![mine2.clone(), mine1.clone()]
        );
        let r = app
            .post_json(
                &format!("/v1/queues/{team}/reorder"),
                &admin,
                &json!({"ticket_id": mine1, "pin": true}),
            )
            .await;
        r.expect(200);
        assert_eq!(
            queue(&app, &admin, &team, &r.position()).await,
            vec![mine1.clone(), mine2.clone()]
        );
        // The workspace queue keeps its own (default) order.
        assert_eq!(
            queue(&app, &admin, "all", &r.position()).await,
            vec![other.clone(), mine2.clone(), mine1.clone()]
        );
        // A ticket of another queue cannot be placed in this one.
        app.post_json(
            &format!("/v1/queues/{team}/reorder"),
            &admin,
            &json!({"ticket_id": other, "position": 1}),
        )
        .await
        .expect_problem(409);
    }
);

both!(
    stats_count_waiting_tickets_and_show_load_against_capacity,
    |app: TestApp| async move {
        let admin = app.create_token(Role::Admin, None).await;
        let ann = app
            .register_agent(&admin, &json!({"name": "Ann", "max_concurrent": 4}))
            .await;
        let bob = app.register_agent(&admin, &json!({"name": "Bob"})).await;
        let team = app
            .create_team(
                &admin,
                &json!({"name": "Tier 1", "default_capacity": 2, "members": [ann, bob]}),
            )
            .await;
        open(&app, &admin, "u", "urgent").await;
        open(&app, &admin, "h1", "high").await;
        app.advance(chrono::Duration::minutes(10));
        open(&app, &admin, "h2", "high").await;
        let (held, _) = open(&app, &admin, "held", "low").await;
        let a = app
            .post_json(
                &format!("/v1/tickets/{held}/assignment"),
                &admin,
                &json!({"agent_id": bob, "team_id": team}),
            )
            .await;
        a.expect(200);
        let pos = a.position();
        let s = get_consistent(
            &app,
            &format!("/v1/queues/all/stats?consistent_with={pos}"),
            &admin,
        )
        .await;
        s.expect(200);
        assert_eq!(s.body["depth"], 3);
        assert_eq!(
            s.body["by_priority"],
            json!({"urgent": 1, "high": 2, "normal": 0, "low": 0})
        );
        assert_eq!(s.body["oldest_waiting_since"], "2026-03-02T09:00:00Z");
        assert_eq!(s.body["oldest_wait_seconds"], 600);
        let t = get_consistent(
            &app,
            &format!("/v1/queues/{team}/stats?consistent_with={pos}"),
            &admin,
        )
        .await;
        t.expect(200);
        assert_eq!(t.body["depth"], 0);
        assert_eq!(t.body["default_capacity"], 2);
        let agents = t.body["agents"].as_array().unwrap();
        assert_eq!(agents.len(), 2, "{}", t.text);
        let by_id = |id: &str| agents.iter().find(|a| a["agent_id"] == id).unwrap().clone();
        assert_eq!(by_id(&ann)["capacity"], 4, "her own capacity wins");
        assert_eq!(by_id(&bob)["capacity"], 2, "the team's default");
        assert_eq!(by_id(&bob)["load"], 1);
        assert_eq!(by_id(&ann)["load"], 0);
    }
);

both!(
    queue_settings_are_an_admins_and_are_validated,
    |app: TestApp| async move {
        let admin = app.create_token(Role::Admin, None).await;
        let team = app.create_team(&admin, &json!({"name": "Ops"})).await;
        for q in ["all", team.as_str()] {
            let c = app
                .put_json(
                    &format!("/v1/queues/{q}/capacity"),
                    &admin,
                    &json!({"default_capacity": 3}),
                )
                .await;
            c.expect(200);
            assert_eq!(c.body["default_capacity"], 3);
            let c = app
                .put_json(
                    &format!("/v1/queues/{q}/capacity"),
                    &admin,
                    &json!({"default_capacity": null}),
                )
                .await;
            c.expect(200);
            assert!(c.body["default_capacity"].is_null());
            for bad in [
                json!({}),
                json!({"default_capacity": 0}),
                json!({"default_capacity": 1001}),
            ] {
                app.put_json(&format!("/v1/queues/{q}/capacity"), &admin, &bad)
                    .await
                    .expect_problem(422);
            }
            app.put_json(
                &format!("/v1/queues/{q}/strategy"),
                &admin,
                &json!({"strategy": "fastest"}),
            )
            .await
            .expect_problem(422);
            let s = app
                .put_json(
                    &format!("/v1/queues/{q}/strategy"),
                    &admin,
                    &json!({"strategy": "skills"}),
                )
                .await;
            s.expect(200);
            assert_eq!(s.body["strategy"], "skills");
            let p = app
                .post_json(&format!("/v1/queues/{q}/pause"), &admin, &json!({}))
                .await;
            p.expect(200);
            assert_eq!(p.body["paused"], true);
            let again = app
                .post_json(&format!("/v1/queues/{q}/pause"), &admin, &json!({}))
                .await;
            again.expect(200);
            assert_eq!(
                again.body["version"], p.body["version"],
                "pausing twice changes nothing"
            );
        }
        let (agent, _) = app.agent().await;
        app.post_json("/v1/queues/all/pause", &agent, &json!({}))
            .await
            .expect_problem(403);
        app.put_json(
            "/v1/queues/all/capacity",
            &agent,
            &json!({"default_capacity": 2}),
        )
        .await
        .expect_problem(403);
        app.get("/v1/queues/all", &agent).await.expect(200);
        app.get_anonymous("/v1/queues/all")
            .await
            .expect_problem(401);
    }
);

both!(
    another_workspaces_queues_are_not_found,
    |app: TestApp| async move {
        let admin = app.create_token(Role::Admin, None).await;
        let team = app.create_team(&admin, &json!({"name": "Ours"})).await;
        let (t, pos) = open(&app, &admin, "Ours", "normal").await;
        let theirs = app.create_token_in("globex", Role::Admin, None).await;
        for path in [
            format!("/v1/queues/{team}"),
            format!("/v1/queues/{team}/stats"),
            format!("/v1/teams/{team}"),
            "/v1/queues/not-a-team".to_owned(),
            format!("/v1/queues/{}", uuid::Uuid::now_v7()),
        ] {
            app.get(&path, &theirs).await.expect_problem(404);
        }
        for what in ["pause", "resume", "reorder"] {
            app.post_json(
                &format!("/v1/queues/{team}/{what}"),
                &theirs,
                &json!({"ticket_id": t, "pin": true}),
            )
            .await
            .expect_problem(404);
        }
        app.put_json(
            &format!("/v1/queues/{team}/capacity"),
            &theirs,
            &json!({"default_capacity": 1}),
        )
        .await
        .expect_problem(404);
        let all = get_consistent(
            &app,
            &format!("/v1/queues/all?consistent_with={pos}"),
            &theirs,
        )
        .await;
        all.expect(200);
        assert!(all.items().is_empty(), "{}", all.text);
        // Their workspace queue is theirs: pausing it leaves ours running.
        app.post_json("/v1/queues/all/pause", &theirs, &json!({}))
            .await
            .expect(200);
        let ours = app.get("/v1/queues/all", &admin).await;
        assert_eq!(ours.body["paused"], false);
        assert_eq!(ours.items().len(), 1);
    }
);
