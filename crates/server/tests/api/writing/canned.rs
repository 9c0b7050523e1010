use serde_json::json;
use tgcrm_store::tokens::Role;

use crate::on_both;
use crate::writing::{TestApp, error_fields};

const REFUND: &str = "Hi {{customer_name}}, about {{ticket.subject}}: order {{fields.order_no}} \
{{#if priority == \"urgent\"}}is refunded today{{else}}will be refunded this week{{/if}}.";

on_both!(
    a_canned_response_is_rendered_for_a_ticket_and_sent_as_a_reply,
    |app: TestApp| async move {
        let t = app
            .ticket(
                "Card declined",
                "I was charged twice",
                json!({"priority": "urgent", "fields": {"order_no": "A-17"}}),
            )
            .await;
        let created = app
            .post(
                &app.admin,
                "/v1/canned-responses",
                json!({"name": "Refund", "category": "billing", "body": REFUND}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.body);
        assert_eq!(created.etag.as_deref(), Some("\"1\""));
        let id = created.body["id"].as_str().unwrap().to_owned();
        assert_eq!(
            created.body["variables"],
            json!([
                "customer_name",
                "fields.order_no",
                "priority",
                "ticket.subject"
            ])
        );

        let rendered = app
            .post(
                &app.admin,
                &format!("/v1/canned-responses/{id}/render"),
                json!({"ticket_id": t}),
            )
            .await;
        assert_eq!(rendered.status, 200, "{}", rendered.body);
        let text = "Hi Ivan, about Card declined: order A-17 is refunded today.";
        assert_eq!(rendered.body["text"], text);

        // Sent by name on the ticket: a public reply that records its source.
        let sent = app
            .post(
                &app.admin,
                &format!("/v1/tickets/{t}/canned"),
                json!({"name": "  REFUND "}),
            )
            .await;
        assert_eq!(sent.status, 201, "{}", sent.body);
        assert_eq!(sent.body["message"]["text"], text);
        assert_eq!(sent.body["message"]["visibility"], "public");
        assert_eq!(
            sent.body["template"],
            json!({"kind": "canned_response", "id": id, "version": 1})
        );
        let messages = app
            .get_after(
                &app.admin,
                &format!("/v1/tickets/{t}/messages"),
                &sent.position,
            )
            .await;
        assert_eq!(messages.body["items"][1]["text"], text, "{}", messages.body);
        let events = app
            .get(&app.admin, &format!("/v1/tickets/{t}/events"))
            .await;
        let added =
            &events.body["items"].as_array().unwrap().last().unwrap()["payload"]["MessageAdded"];
        assert_eq!(added["template"]["id"], id.as_str());
        assert_eq!(added["template"]["version"], 1);

        // Also through the canned response itself.
        let again = app
            .post(
                &app.admin,
                &format!("/v1/canned-responses/{id}/send"),
                json!({"ticket_id": t}),
            )
            .await;
        assert_eq!(again.status, 201);
    }
);

on_both!(
    a_second_response_with_the_same_name_is_a_conflict,
    |app: TestApp| async move {
        let first = app
            .post(
                &app.admin,
                "/v1/canned-responses",
                json!({"name": "Greeting", "body": "Hi"}),
            )
            .await;
        assert_eq!(first.status, 201);
        let dup = app
            .post(
                &app.admin,
                "/v1/canned-responses",
                json!({"name": " greeting  ", "body": "Hello"}),
            )
            .await;
        assert_eq!(dup.status, 409);
        assert_eq!(dup.body["type"], "/problems/name-taken");
        // Another workspace has its own names.
        let other = app.token("globex", Role::Admin, None).await;
        let theirs = app
            .post(
                &other,
                "/v1/canned-responses",
                json!({"name": "Greeting", "body": "Hi"}),
            )
            .await;
        assert_eq!(theirs.status, 201);
        // Renaming frees the old name; deleting frees the new one.
        let id = first.body["id"].as_str().unwrap();
        let renamed = app
            .patch(
                &app.admin,
                &format!("/v1/canned-responses/{id}"),
                json!({"name": "Welcome", "category": null}),
                Some("\"1\""),
            )
            .await;
        assert_eq!(renamed.status, 200, "{}", renamed.body);
        assert_eq!(renamed.body["version"], 2);
        let stale = app
            .patch(
                &app.admin,
                &format!("/v1/canned-responses/{id}"),
                json!({"body": "x"}),
                Some("\"1\""),
            )
            .await;
        assert_eq!(stale.status, 412);
        assert_eq!(
            app.post(
                &app.admin,
                "/v1/canned-responses",
                json!({"name": "Greeting", "body": "Hi"})
            )
            .await
            .status,
            201
        );
        assert_eq!(
            app.delete(&app.admin, &format!("/v1/canned-responses/{id}"))
                .await
                .status,
            204
        );
        assert_eq!(
            app.get(&app.admin, &format!("/v1/canned-responses/{id}"))
                .await
                .status,
            404
        );
        let reused = app
            .post(
                &app.admin,
                "/v1/canned-responses",
                json!({"name": "welcome", "body": "Hi"}),
            )
            .await;
        assert_eq!(reused.status, 201);
        let list = app
            .get_after(&app.admin, "/v1/canned-responses", &reused.position)
            .await;
        let names: Vec<&str> = list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["Greeting", "welcome"]);
    }
);

on_both!(
    unknown_and_valueless_variables_are_422s_naming_them,
    |app: TestApp| async move {
        let bad = app
            .post(
                &app.admin,
                "/v1/canned-responses",
                json!({"name": "Typo", "body": "Hi {{custmer_name}}"}),
            )
            .await;
        assert_eq!(bad.status, 422);
        assert!(
            bad.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("unknown variable custmer_name"),
            "{}",
            bad.body
        );
        let syntax = app
            .post(
                &app.admin,
                "/v1/canned-responses",
                json!({"name": "Broken", "body": "{{#if priority == \"urgent\"}}open"}),
            )
            .await;
        assert_eq!(syntax.status, 422);
        assert!(
            syntax.body["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains("never closed")
        );

        let t = app.ticket("No order number", "Hello", json!({})).await;
        let created = app
            .post(
                &app.admin,
                "/v1/canned-responses",
                json!({"name": "Tracking", "body": "Your order {{fields.order_no}} ships soon"}),
            )
            .await;
        let id = created.body["id"].as_str().unwrap();
        let missing = app
            .post(
                &app.admin,
                &format!("/v1/canned-responses/{id}/render"),
                json!({"ticket_id": t}),
            )
            .await;
        assert_eq!(missing.status, 422);
        assert_eq!(error_fields(&missing), vec!["fields.order_no"]);
        // Nothing was sent either.
        let send = app
            .post(
                &app.admin,
                &format!("/v1/canned-responses/{id}/send"),
                json!({"ticket_id": t}),
            )
            .await;
        assert_eq!(send.status, 422);
        // Read from the log itself, which a lagging projection cannot hide.
        let events = app
            .get(&app.admin, &format!("/v1/tickets/{t}/events"))
            .await;
        let messages = events.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["event_type"] == "MessageAdded")
            .count();
        assert_eq!(messages, 1, "only the opening message");
    }
);

on_both!(
    analysts_read_but_do_not_write_and_other_workspaces_see_nothing,
    |app: TestApp| async move {
        let t = app.ticket("Hello", "Hi", json!({})).await;
        let created = app
            .post(
                &app.admin,
                "/v1/canned-responses",
                json!({"name": "Hello", "body": "Hi {{customer_name}}"}),
            )
            .await;
        let id = created.body["id"].as_str().unwrap().to_owned();
        let analyst = app.token("acme", Role::Analyst, None).await;
        assert_eq!(
            app.get(&analyst, &format!("/v1/canned-responses/{id}"))
                .await
                .status,
            200
        );
        assert_eq!(
            app.post(
                &analyst,
                &format!("/v1/canned-responses/{id}/render"),
                json!({"ticket_id": t})
            )
            .await
            .status,
            200
        );
        assert_eq!(
            app.post(
                &analyst,
                "/v1/canned-responses",
                json!({"name": "X", "body": "x"})
            )
            .await
            .status,
            403
        );
        assert_eq!(
            app.post(
                &analyst,
                &format!("/v1/canned-responses/{id}/send"),
                json!({"ticket_id": t})
            )
            .await
            .status,
            403
        );
        let bot = app.token("acme", Role::Bot, None).await;
        assert_eq!(app.get(&bot, "/v1/canned-responses").await.status, 403);

        let other = app.token("globex", Role::Admin, None).await;
        let path = format!("/v1/canned-responses/{id}");
        assert_eq!(app.get(&other, &path).await.status, 404);
        assert_eq!(
            app.patch(&other, &path, json!({"body": "x"}), None)
                .await
                .status,
            404
        );
        assert_eq!(app.delete(&other, &path).await.status, 404);
        assert_eq!(
            app.post(&other, &format!("{path}/render"), json!({"ticket_id": t}))
                .await
                .status,
            404
        );
        assert_eq!(
            app.post(
                &other,
                &format!("/v1/tickets/{t}/canned"),
                json!({"name": "Hello"})
            )
            .await
            .status,
            404
        );
        let list = app
            .get_after(&other, "/v1/canned-responses", &created.position)
            .await;
        assert_eq!(list.body["items"], json!([]));
        // A ticket of another workspace cannot be rendered for either.
        let theirs = app
            .post(
                &other,
                "/v1/canned-responses",
                json!({"name": "Hello", "body": "Hi {{customer_name}}"}),
            )
            .await;
        let theirs = theirs.body["id"].as_str().unwrap();
        assert_eq!(
            app.post(
                &other,
                &format!("/v1/canned-responses/{theirs}/render"),
                json!({"ticket_id": t})
            )
            .await
            .status,
            404
        );
    }
);
