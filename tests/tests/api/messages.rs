//! The conversation: replies, internal notes, customer messages through a bot.

use serde_json::{Value, json};
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::TestApp;

fn texts(items: &[Value]) -> Vec<&str> {
    items.iter().map(|m| m["text"].as_str().unwrap()).collect()
}

both!(
    an_agent_replies_and_the_reply_is_in_the_conversation,
    |app: TestApp| async move {
        let (agent, agent_id) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Reply").await;
        let a = app
            .post_message(&id, &agent, "We are on it.", "public")
            .await;
        a.expect(201);
        assert_eq!(a.body["message"]["author"]["kind"], "agent");
        assert_eq!(a.body["message"]["author"]["id"], agent_id.as_str());
        assert_eq!(a.body["message"]["visibility"], "public");
        assert_eq!(a.body["message"]["text"], "We are on it.");
        assert_eq!(a.body["ticket"]["message_count"], 2);
        assert_eq!(a.body["ticket"]["version"], 3);
        assert_eq!(a.header("etag").as_deref(), Some("\"3\""));
        let position = a.position();
        let list = app
            .get(
                &format!("/v1/tickets/{id}/messages?consistent_with={position}"),
                &agent,
            )
            .await;
        list.expect(200);
        assert_eq!(
            texts(list.items()),
            ["My order has not arrived.", "We are on it."]
        );
        assert_eq!(list.items()[0]["author"]["kind"], "customer");
        assert_eq!(list.items()[1]["id"], a.body["message"]["id"]);
    }
);

both!(
    internal_notes_are_shown_to_agents_and_hidden_from_bots_and_analysts,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let admin = app.create_token(Role::Admin, None).await;
        let bot = app.create_token(Role::Bot, None).await;
        let analyst = app.create_token(Role::Analyst, None).await;
        let auditor = app.create_token(Role::Auditor, None).await;
        let id = app.open_ticket_with_subject(&agent, "Notes").await;
        let note = app
            .post_message(
                &id,
                &agent,
                "Customer is a reseller; be careful.",
                "internal",
            )
            .await;
        note.expect(201);
        assert_eq!(note.body["message"]["visibility"], "internal");
        let reply = app
            .post_message(&id, &agent, "Thanks for waiting.", "public")
            .await;
        reply.expect(201);
        let path = format!(
            "/v1/tickets/{id}/messages?consistent_with={}",
            reply.position()
        );

        for token in [&agent, &admin] {
            let a = app.get(&path, token).await;
            a.expect(200);
            assert_eq!(
                texts(a.items()),
                [
                    "My order has not arrived.",
                    "Customer is a reseller; be careful.",
                    "Thanks for waiting."
                ]
            );
        }
        for token in [&bot, &analyst, &auditor] {
            let a = app.get(&path, token).await;
            a.expect(200);
            assert_eq!(
                texts(a.items()),
                ["My order has not arrived.", "Thanks for waiting."],
                "no internal notes for this role"
            );
            assert!(!a.text.contains("reseller"), "{}", a.text);
        }
        // A bot relays customers, who cannot write internal notes.
        let before = app.event_count().await;
        app.post_message(&id, &bot, "sneaky", "internal")
            .await
            .expect_problem(403);
        app.post_message(&id, &agent, "what?", "secret")
            .await
            .expect_problem(422);
        assert_eq!(app.event_count().await, before);
    }
);

both!(
    a_bot_message_is_the_customers_and_reopens_a_resolved_ticket,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let bot = app.create_token(Role::Bot, None).await;
        let id = app.open_ticket_with_subject(&bot, "Reopen").await;
        let resolved = app.set_status(&id, &agent, "resolved").await;
        resolved.expect(200);
        assert_eq!(resolved.body["status"], "resolved");
        assert!(
            resolved.body["resolved_at"].is_string(),
            "{}",
            resolved.text
        );

        let a = app
            .post_message(&id, &bot, "It broke again.", "public")
            .await;
        a.expect(201);
        assert_eq!(a.body["message"]["author"]["kind"], "customer");
        assert!(a.body["message"]["author"]["id"].is_null());
        assert_eq!(a.body["ticket"]["status"], "open", "a customer reopens it");
        let events = app.ticket_events(&id, &agent).await;
        let types: Vec<_> = events.iter().map(|e| e["event_type"].clone()).collect();
        assert_eq!(
            types,
            [
                "TicketOpened",
                "MessageAdded",
                "StatusChanged",
                "MessageAdded",
                "StatusChanged"
            ]
        );
        let reopen = events.last().unwrap();
        assert!(
            reopen["payload"].to_string().contains("customer_replied"),
            "the reopening says why: {reopen}"
        );
        let read = app.get(&format!("/v1/tickets/{id}"), &agent).await;
        assert_eq!(read.body["status"], "open");
    }
);

both!(
    an_agent_reply_does_not_reopen_a_resolved_ticket,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Stay resolved").await;
        app.set_status(&id, &agent, "resolved").await.expect(200);
        let a = app
            .post_message(&id, &agent, "Glad it worked.", "public")
            .await;
        a.expect(201);
        assert_eq!(a.body["ticket"]["status"], "resolved");
    }
);

both!(
    a_closed_ticket_refuses_messages,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let bot = app.create_token(Role::Bot, None).await;
        let id = app.open_ticket_with_subject(&agent, "Close me").await;
        app.set_status(&id, &agent, "resolved").await.expect(200);
        app.set_status(&id, &agent, "closed").await.expect(200);
        let before = app.event_count().await;
        for token in [&agent, &bot] {
            let a = app.post_message(&id, token, "Hello?", "public").await;
            a.expect_problem(409);
            assert_eq!(a.body["type"], "/problems/ticket-closed");
        }
        assert_eq!(app.event_count().await, before);
    }
);

both!(
    repeating_a_message_with_the_same_idempotency_key_adds_it_once,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Once").await;
        let path = format!("/v1/tickets/{id}/messages");
        let body = json!({"text": "Refund issued."});
        let send = || app.post_json_with(&path, &agent, &body, &[("idempotency-key", "refund-1")]);
        let first = send().await;
        first.expect(201);
        let before = app.event_count().await;
        let again = send().await;
        again.expect(200);
        assert_eq!(again.body["message"]["id"], first.body["message"]["id"]);
        assert_eq!(again.body["ticket"]["message_count"], 2);
        assert_eq!(app.event_count().await, before);
    }
);
