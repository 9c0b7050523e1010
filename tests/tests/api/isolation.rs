//! A token sees only its own workspace; another workspace's tickets do not exist for it.

use reqwest::Method;
use serde_json::json;
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::{TestApp, ticket_body};

const OTHER: &str = "globex";

both!(
    another_workspace_cannot_read_or_change_a_ticket_and_learns_nothing_of_it,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let opened = app.open_ticket(&agent, &ticket_body("Ours")).await;
        let id = opened.id();
        let position = opened.position();

        let their_agent = app
            .create_token_in(OTHER, Role::Agent, Some(&uuid::Uuid::now_v7().to_string()))
            .await;
        let their_admin = app.create_token_in(OTHER, Role::Admin, None).await;
        let their_auditor = app.create_token_in(OTHER, Role::Auditor, None).await;
        let their_bot = app.create_token_in(OTHER, Role::Bot, None).await;
        let before = app.event_count().await;

        for token in [&their_agent, &their_admin, &their_auditor] {
            for path in [
                format!("/v1/tickets/{id}"),
                format!("/v1/tickets/{id}/messages"),
                format!("/v1/tickets/{id}/events"),
            ] {
                let a = app.get(&path, token).await;
                a.expect_problem(404);
                assert!(!a.text.contains("Ours"), "{path} leaks: {}", a.text);
            }
        }
        let writes = [
            ("messages", json!({"text": "hijack"})),
            ("status", json!({"status": "resolved"})),
            ("priority", json!({"priority": "urgent"})),
            (
                "assignment",
                json!({"agent_id": uuid::Uuid::now_v7().to_string()}),
            ),
            ("tags", json!({"add": ["stolen"]})),
            ("fields", json!({"set": {"x": "y"}})),
            ("archive", json!({})),
        ];
        for token in [&their_agent, &their_admin] {
            for (what, body) in &writes {
                app.post_json(&format!("/v1/tickets/{id}/{what}"), token, body)
                    .await
                    .expect_problem(404);
            }
            app.delete(&format!("/v1/tickets/{id}/assignment"), token)
                .await
                .expect_problem(404);
        }
        // A bot of the other workspace cannot relay a "customer" message into it either.
        app.post_message(&id, &their_bot, "hello", "public")
            .await
            .expect_problem(404);
        assert_eq!(
            app.event_count().await,
            before,
            "refused writes append nothing"
        );

        // Lists and the global feed of the other workspace do not show it.
        let list = app
            .get(
                &format!("/v1/tickets?consistent_with={position}"),
                &their_agent,
            )
            .await;
        list.expect(200);
        assert!(list.items().is_empty(), "{}", list.text);
        let feed = app.get("/v1/events?limit=100", &their_auditor).await;
        feed.expect(200);
        assert!(
            feed.items()
                .iter()
                .all(|e| e["aggregate_id"] != id.as_str() && e["aggregate_type"] != "ticket"),
            "the other workspace's feed shows no ticket of ours: {}",
            feed.text
        );

        // And the ticket is untouched for its own workspace.
        let ours = app.get(&format!("/v1/tickets/{id}"), &agent).await;
        ours.expect(200);
        assert_eq!(ours.body["status"], "open");
        assert_eq!(ours.body["message_count"], 1);
    }
);

both!(
    the_same_idempotency_key_in_two_workspaces_opens_two_tickets,
    |app: TestApp| async move {
        let ours = app.create_token(Role::Agent, None).await;
        let theirs = app.create_token_in(OTHER, Role::Agent, None).await;
        let send = |token: String| {
            let app = app.clone();
            async move {
                app.send(
                    app.request(Method::POST, "/v1/tickets", Some(&token))
                        .header("idempotency-key", "order-77")
                        .json(&ticket_body("Keyed")),
                )
                .await
            }
        };
        let a = send(ours.clone()).await;
        a.expect(201);
        let b = send(theirs.clone()).await;
        b.expect(201);
        assert_ne!(a.id(), b.id());
        assert_eq!(b.body["workspace"], OTHER);
        app.get(&format!("/v1/tickets/{}", a.id()), &theirs)
            .await
            .expect_problem(404);
    }
);
