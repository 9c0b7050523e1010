//! `/v1/teams` and the agent fields that go with them (teams, capacity,
//! load); who may assign a ticket to whom.

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

/// Read the team until its members (from the read model) are `n`.
async fn team_with_members(app: &TestApp, token: &str, team: &str, n: usize) -> serde_json::Value {
    for _ in 0..200 {
        let t = app.get(&format!("/v1/teams/{team}"), token).await;
        t.expect(200);
        if t.body["members"].as_array().map(Vec::len) == Some(n) {
            return t.body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("team {team} never had {n} members");
}

both!(
    an_admin_creates_a_team_with_members_and_changes_it,
    |app: TestApp| async move {
        let admin = app.create_token(Role::Admin, None).await;
        let ann = app.register_agent(&admin, &json!({"name": "Ann"})).await;
        let bob = app
            .register_agent(&admin, &json!({"name": "Bob", "max_concurrent": 7}))
            .await;
        let created = app
            .post_json(
                "/v1/teams",
                &admin,
                &json!({"name": "Billing", "strategy": "round_robin", "default_capacity": 3,
                        "members": [ann], "lead_agent_id": ann}),
            )
            .await;
        created.expect(201);
        let team = created.id();
        assert_eq!(
            created.header("location").as_deref(),
            Some(format!("/v1/teams/{team}").as_str())
        );
        assert_eq!(created.body["strategy"], "round_robin");
        assert_eq!(created.body["default_capacity"], 3);
        assert_eq!(created.body["lead_agent_id"], ann.as_str());
        assert_eq!(created.body["paused"], false);

        let t = team_with_members(&app, &admin, &team, 1).await;
        assert_eq!(t["members"][0]["agent_id"], ann.as_str());
        assert_eq!(t["members"][0]["capacity"], 3, "the team's default applies");
        assert_eq!(t["members"][0]["load"], 0);
        let a = app.get(&format!("/v1/agents/{ann}"), &admin).await;
        assert_eq!(a.body["teams"], json!([team]));
        assert!(a.body["max_concurrent"].is_null());
        assert_eq!(a.body["load"], 0);

        let changed = app
            .patch_json(
                &format!("/v1/teams/{team}"),
                &admin,
                &json!({"name": "Payments", "strategy": "skills", "default_capacity": null,
                        "members": [bob], "lead_agent_id": null}),
            )
            .await;
        changed.expect(200);
        assert_eq!(changed.body["name"], "Payments");
        assert_eq!(changed.body["strategy"], "skills");
        assert!(changed.body["default_capacity"].is_null());
        assert!(changed.body["lead_agent_id"].is_null());
        let mut t = team_with_members(&app, &admin, &team, 1).await;
        for _ in 0..200 {
            if t["members"][0]["agent_id"] == bob.as_str() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
            t = team_with_members(&app, &admin, &team, 1).await;
        }
        assert_eq!(t["members"][0]["agent_id"], bob.as_str());
        assert_eq!(t["members"][0]["capacity"], 7, "his own capacity");
        let a = app.get(&format!("/v1/agents/{ann}"), &admin).await;
        assert_eq!(a.body["teams"], json!([]));

        // If-Match guards changes.
        let stale = app
            .send(
                app.request(
                    reqwest::Method::PATCH,
                    &format!("/v1/teams/{team}"),
                    Some(&admin),
                )
                .header("If-Match", "\"1\"")
                .json(&json!({"name": "Stale"})),
            )
            .await;
        stale.expect_problem(412);

        // Names are unique in the workspace.
        app.post_json("/v1/teams", &admin, &json!({"name": "payments"}))
            .await
            .expect_problem(409);
        let list = app.get("/v1/teams", &admin).await;
        list.expect(200);
        assert_eq!(list.items().len(), 1);
        assert_eq!(list.items()[0]["name"], "Payments");
    }
);

both!(
    team_requests_are_validated_and_scoped_to_the_workspace,
    |app: TestApp| async move {
        let admin = app.create_token(Role::Admin, None).await;
        let theirs = app.create_token_in("globex", Role::Admin, None).await;
        let their_agent = app.register_agent(&theirs, &json!({"name": "Eve"})).await;
        for bad in [
            json!({"name": ""}),
            json!({"name": "X", "strategy": "fastest"}),
            json!({"name": "X", "default_capacity": 0}),
            json!({"name": "X", "members": ["not-an-id"]}),
            json!({"name": "X", "members": [their_agent]}),
            json!({"name": "X", "lead_agent_id": uuid::Uuid::now_v7().to_string()}),
        ] {
            app.post_json("/v1/teams", &admin, &bad)
                .await
                .expect_problem(422);
        }
        app.post_json("/v1/teams", &admin, &json!({"name": "X", "bogus": 1}))
            .await
            .expect_problem(400);
        let (agent, _) = app.agent().await;
        app.post_json("/v1/teams", &agent, &json!({"name": "X"}))
            .await
            .expect_problem(403);
        let team = app.create_team(&admin, &json!({"name": "Ours"})).await;
        app.get(&format!("/v1/teams/{team}"), &theirs)
            .await
            .expect_problem(404);
        app.patch_json(
            &format!("/v1/teams/{team}"),
            &theirs,
            &json!({"name": "Mine"}),
        )
        .await
        .expect_problem(404);
        app.get("/v1/teams/nope", &admin).await.expect_problem(404);
        assert!(app.get("/v1/teams", &theirs).await.items().is_empty());

        // Idempotency-Key: the same team again.
        let first = app
            .post_json_with(
                "/v1/teams",
                &admin,
                &json!({"name": "Once"}),
                &[("Idempotency-Key", "k1")],
            )
            .await;
        first.expect(201);
        let again = app
            .post_json_with(
                "/v1/teams",
                &admin,
                &json!({"name": "Once"}),
                &[("Idempotency-Key", "k1")],
            )
            .await;
        again.expect(200);
        assert_eq!(first.id(), again.id());
    }
);

both!(
    a_ticket_is_assigned_only_to_an_active_agent_and_a_team_of_its_workspace,
    |app: TestApp| async move {
        let admin = app.create_token(Role::Admin, None).await;
        let theirs = app.create_token_in("globex", Role::Admin, None).await;
        let their_team = app.create_team(&theirs, &json!({"name": "Theirs"})).await;
        let their_agent = app.register_agent(&theirs, &json!({"name": "Eve"})).await;
        let gone = app.register_agent(&admin, &json!({"name": "Gone"})).await;
        app.post_json(&format!("/v1/agents/{gone}/deactivate"), &admin, &json!({}))
            .await
            .expect(200);
        let t = app
            .open_ticket(&admin, &ticket_body("Assign me"))
            .await
            .id();
        let path = format!("/v1/tickets/{t}/assignment");
        for body in [
            json!({"agent_id": uuid::Uuid::now_v7().to_string()}),
            json!({"agent_id": their_agent}),
            json!({"agent_id": gone}),
            json!({"team_id": their_team}),
        ] {
            let a = app.post_json(&path, &admin, &body).await;
            a.expect_problem(422);
        }
        let ours = app.create_team(&admin, &json!({"name": "Ours"})).await;
        let ann = app.register_agent(&admin, &json!({"name": "Ann"})).await;
        let a = app
            .post_json(&path, &admin, &json!({"agent_id": ann, "team_id": ours}))
            .await;
        a.expect(200);
        assert_eq!(a.body["assignee_agent_id"], ann.as_str());
        // Manual assignment counts toward the agent's load.
        let mut load = None;
        for _ in 0..200 {
            let l = app.get(&format!("/v1/agents/{ann}"), &admin).await;
            load = l.body["load"].as_i64();
            if load == Some(1) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        assert_eq!(load, Some(1));
    }
);
