//! Bearer tokens and what each role may do.

use reqwest::Method;
use serde_json::json;
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::{TestApp, WORKSPACE};

both!(
    a_request_without_a_token_is_401_with_a_bearer_challenge,
    |app: TestApp| async move {
        let a = app.get_anonymous("/v1/me").await;
        a.expect_problem(401);
        assert_eq!(a.header("www-authenticate").as_deref(), Some("Bearer"));
        assert_eq!(a.body["type"], "/problems/unauthorized");
    }
);

both!(
    an_unknown_or_malformed_token_is_401,
    |app: TestApp| async move {
        let unknown = format!("crm_live_{}", "0".repeat(64));
        for token in [unknown.as_str(), "nonsense", "crm_test_abc"] {
            let a = app.get("/v1/me", token).await;
            a.expect_problem(401);
            assert_eq!(a.header("www-authenticate").as_deref(), Some("Bearer"));
        }
        let real = app.create_token(Role::Admin, None).await;
        let basic = app
            .send(
                app.request(Method::GET, "/v1/me", None)
                    .header("authorization", format!("Basic {real}")),
            )
            .await;
        basic.expect_problem(401);
    }
);

both!(
    me_names_the_workspace_role_token_and_agent,
    |app: TestApp| async move {
        let agent = uuid::Uuid::now_v7().to_string();
        let (token, token_id) = app
            .create_token_record(WORKSPACE, Role::Agent, Some(&agent))
            .await;
        let a = app.get("/v1/me", &token).await;
        a.expect(200);
        assert_eq!(a.body["workspace"], WORKSPACE);
        assert_eq!(a.body["role"], "agent");
        assert_eq!(a.body["token_id"], token_id.as_str());
        assert_eq!(a.body["agent_id"], agent.as_str());

        let (analyst, analyst_id) = app
            .create_token_record(WORKSPACE, Role::Analyst, None)
            .await;
        let a = app.get("/v1/me", &analyst).await;
        a.expect(200);
        assert_eq!(a.body["role"], "analyst");
        assert_eq!(a.body["token_id"], analyst_id.as_str());
        assert!(a.body["agent_id"].is_null(), "{}", a.text);
    }
);

both!(
    an_analyst_may_read_tickets_but_not_post_a_message,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let analyst = app.create_token(Role::Analyst, None).await;
        let id = app.open_ticket_with_subject(&agent, "Analyst reads").await;
        let before = app.event_count().await;
        let a = app.post_message(&id, &analyst, "hello", "public").await;
        a.expect_problem(403);
        assert_eq!(a.body["type"], "/problems/forbidden");
        app.get(&format!("/v1/tickets/{id}"), &analyst)
            .await
            .expect(200);
        let refused = app
            .post_json("/v1/tickets", &analyst, &crate::helpers::ticket_body("No"))
            .await;
        refused.expect_problem(403);
        assert_eq!(app.event_count().await, before);
    }
);

both!(
    a_bot_may_not_change_status_or_assign,
    |app: TestApp| async move {
        let bot = app.create_token(Role::Bot, None).await;
        let id = app.open_ticket_with_subject(&bot, "Bot opened").await;
        let before = app.event_count().await;
        app.set_status(&id, &bot, "resolved")
            .await
            .expect_problem(403);
        app.post_json(
            &format!("/v1/tickets/{id}/priority"),
            &bot,
            &json!({"priority": "high"}),
        )
        .await
        .expect_problem(403);
        app.post_json(
            &format!("/v1/tickets/{id}/assignment"),
            &bot,
            &json!({"agent_id": uuid::Uuid::now_v7().to_string()}),
        )
        .await
        .expect_problem(403);
        assert_eq!(app.event_count().await, before);
    }
);

both!(
    an_auditor_reads_the_event_feed_and_an_agent_may_not,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let auditor = app.create_token(Role::Auditor, None).await;
        let id = app.open_ticket_with_subject(&agent, "Audited").await;
        app.wait_until_readable().await;
        let feed = app.get("/v1/events", &auditor).await;
        feed.expect(200);
        assert!(
            feed.items()
                .iter()
                .any(|e| e["aggregate_id"] == id.as_str()),
            "the auditor sees the ticket's events: {}",
            feed.text
        );
        app.get("/v1/events", &agent).await.expect_problem(403);
        let bot = app.create_token(Role::Bot, None).await;
        app.get("/v1/events", &bot).await.expect_problem(403);
        // The ticket's own stream is open to auditors too.
        app.get(&format!("/v1/tickets/{id}/events"), &auditor)
            .await
            .expect(200);
    }
);
