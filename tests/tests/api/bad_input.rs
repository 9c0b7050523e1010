//! Bad input is answered with a problem+json 4xx and appends nothing to the log.

use reqwest::Method;
use serde_json::json;
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::{Answer, TestApp, ticket_body};

#[track_caller]
fn refused(what: &str, a: &Answer, status: u16) {
    assert_eq!(
        a.status, status,
        "{what}: expected {status}, got {}: {}",
        a.status, a.text
    );
    assert_eq!(
        a.content_type(),
        "application/problem+json",
        "{what}: a problem+json answer: {}",
        a.text
    );
    assert_eq!(a.body["status"], json!(status), "{what}: {}", a.text);
    for member in ["type", "title", "detail"] {
        assert!(
            a.body[member].is_string(),
            "{what}: problem {member}: {}",
            a.text
        );
    }
}

both!(
    malformed_bodies_are_refused_and_append_nothing,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Target").await;
        let before = app.event_count().await;

        let a = app
            .post_raw(
                "/v1/tickets",
                &agent,
                "application/json",
                br#"{"subject": "x", "#.to_vec(),
            )
            .await;
        refused("malformed JSON", &a, 400);
        let a = app
            .post_raw(
                "/v1/tickets",
                &agent,
                "application/json",
                b"[1, 2, 3]".to_vec(),
            )
            .await;
        refused("JSON of the wrong shape", &a, 400);
        let a = app
            .post_raw(
                "/v1/tickets",
                &agent,
                "text/plain",
                ticket_body("Plain").to_string().into_bytes(),
            )
            .await;
        refused("text/plain body", &a, 415);
        let a = app
            .send(
                app.request(Method::POST, "/v1/tickets", Some(&agent))
                    .body(ticket_body("No type").to_string()),
            )
            .await;
        refused("body without a content type", &a, 415);

        let mut unknown = ticket_body("Unknown");
        unknown["colour"] = json!("blue");
        let a = app.post_json("/v1/tickets", &agent, &unknown).await;
        refused("unknown top-level field", &a, 400);
        assert!(
            a.text.contains("colour"),
            "the problem names the field: {}",
            a.text
        );
        let mut unknown = ticket_body("Unknown nested");
        unknown["customer"]["age"] = json!(30);
        let a = app.post_json("/v1/tickets", &agent, &unknown).await;
        refused("unknown nested field", &a, 400);
        let a = app
            .post_json(
                &format!("/v1/tickets/{id}/messages"),
                &agent,
                &json!({"text": "hi", "urgent": true}),
            )
            .await;
        refused("unknown message field", &a, 400);
        let a = app
            .post_json(
                &format!("/v1/tickets/{id}/status"),
                &agent,
                &json!({"status": "resolved", "force": true}),
            )
            .await;
        refused("unknown status field", &a, 400);

        let mut missing = ticket_body("Missing");
        missing.as_object_mut().unwrap().remove("customer");
        let a = app.post_json("/v1/tickets", &agent, &missing).await;
        assert!(
            a.status == 400 || a.status == 422,
            "a missing field is 400 or 422: {}",
            a.text
        );
        refused("missing customer", &a, a.status);

        let big = ticket_body(&"x".repeat(300 * 1024));
        let a = app.post_json("/v1/tickets", &agent, &big).await;
        refused("body over 256 KiB", &a, 413);
        let a = app
            .post_json(
                &format!("/v1/tickets/{id}/messages"),
                &agent,
                &json!({"text": "y".repeat(260 * 1024)}),
            )
            .await;
        refused("message body over 256 KiB", &a, 413);

        assert_eq!(app.event_count().await, before, "nothing was appended");
        let read = app.get(&format!("/v1/tickets/{id}"), &agent).await;
        assert_eq!(read.body["version"], 2);
    }
);

both!(
    invalid_fields_are_422_problems_naming_the_field,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Target").await;
        let before = app.event_count().await;

        let field_of = |a: &Answer| -> Vec<String> {
            a.body["errors"]
                .as_array()
                .map(|e| {
                    e.iter()
                        .map(|f| f["field"].as_str().unwrap_or_default().to_owned())
                        .collect()
                })
                .unwrap_or_default()
        };

        let a = app
            .post_json("/v1/tickets", &agent, &ticket_body("   "))
            .await;
        refused("empty subject", &a, 422);
        assert_eq!(field_of(&a), ["subject"], "{}", a.text);
        let a = app
            .post_json("/v1/tickets", &agent, &ticket_body(&"s".repeat(201)))
            .await;
        refused("subject of 201 characters", &a, 422);
        assert_eq!(field_of(&a), ["subject"], "{}", a.text);
        let a = app
            .post_json("/v1/tickets", &agent, &ticket_body(&"é".repeat(200)))
            .await;
        a.expect(201);
        let before = before + 2;

        let mut body = ticket_body("Bad priority");
        body["priority"] = json!("asap");
        let a = app.post_json("/v1/tickets", &agent, &body).await;
        refused("unknown priority on open", &a, 422);
        assert_eq!(field_of(&a), ["priority"], "{}", a.text);

        let mut body = ticket_body("");
        body["body"] = json!("");
        body["customer"]["name"] = json!("");
        let a = app.post_json("/v1/tickets", &agent, &body).await;
        refused("several bad fields", &a, 422);
        assert!(field_of(&a).len() >= 3, "every problem at once: {}", a.text);

        let a = app
            .post_json(
                &format!("/v1/tickets/{id}/status"),
                &agent,
                &json!({"status": "pending"}),
            )
            .await;
        refused("unknown status", &a, 422);
        let a = app
            .post_json(
                &format!("/v1/tickets/{id}/priority"),
                &agent,
                &json!({"priority": "asap"}),
            )
            .await;
        refused("unknown priority", &a, 422);
        let a = app.post_message(&id, &agent, "   ", "public").await;
        refused("empty message", &a, 422);
        let a = app
            .post_message(&id, &agent, &"z".repeat(20_001), "public")
            .await;
        refused("message over 20,000 characters", &a, 422);

        assert_eq!(app.event_count().await, before, "nothing else was appended");
    }
);

both!(
    unknown_tickets_and_routes_are_404_problems,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let auditor = app.create_token(Role::Auditor, None).await;
        app.open_ticket_with_subject(&agent, "Exists").await;
        let before = app.event_count().await;
        let unknown = uuid::Uuid::now_v7().to_string();
        for id in [unknown.as_str(), "not-a-uuid", "1", "%20"] {
            refused(
                &format!("GET ticket {id}"),
                &app.get(&format!("/v1/tickets/{id}"), &agent).await,
                404,
            );
            refused(
                &format!("GET messages of {id}"),
                &app.get(&format!("/v1/tickets/{id}/messages"), &agent).await,
                404,
            );
            refused(
                &format!("GET events of {id}"),
                &app.get(&format!("/v1/tickets/{id}/events"), &auditor).await,
                404,
            );
            refused(
                &format!("POST message to {id}"),
                &app.post_message(id, &agent, "hello", "public").await,
                404,
            );
            refused(
                &format!("POST status to {id}"),
                &app.set_status(id, &agent, "resolved").await,
                404,
            );
            refused(
                &format!("POST priority to {id}"),
                &app.post_json(
                    &format!("/v1/tickets/{id}/priority"),
                    &agent,
                    &json!({"priority": "low"}),
                )
                .await,
                404,
            );
        }
        refused(
            "as_of on an unknown ticket",
            &app.get(
                &format!("/v1/tickets/{unknown}?as_of=2026-03-02T10:00:00Z"),
                &agent,
            )
            .await,
            404,
        );
        for path in [
            "/v1/nothing-here",
            "/nothing",
            "/v1/tickets/x/y/z",
            "/v2/tickets",
        ] {
            let a = app.get(path, &agent).await;
            refused(&format!("unknown route {path}"), &a, 404);
            let a = app.get_anonymous(path).await;
            refused(&format!("unknown route {path} without a token"), &a, 404);
        }
        assert_eq!(app.event_count().await, before);
    }
);

both!(
    invalid_query_parameters_and_headers_are_refused,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let auditor = app.create_token(Role::Auditor, None).await;
        let opened = app.open_ticket(&agent, &ticket_body("Target")).await;
        let id = opened.id();
        let before = app.event_count().await;

        for (what, path, status) in [
            (
                "status filter",
                "/v1/tickets?status=pending".to_owned(),
                422,
            ),
            (
                "priority filter",
                "/v1/tickets?priority=asap".to_owned(),
                422,
            ),
            (
                "assignee filter",
                "/v1/tickets?assignee=bob".to_owned(),
                422,
            ),
            ("team filter", "/v1/tickets?team=sales".to_owned(), 422),
            ("tag filter", "/v1/tickets?tag=no%20spaces".to_owned(), 422),
            ("limit 0", "/v1/tickets?limit=0".to_owned(), 422),
            ("limit 101", "/v1/tickets?limit=101".to_owned(), 422),
            ("limit -1", "/v1/tickets?limit=-1".to_owned(), 422),
            (
                "limit not a number",
                "/v1/tickets?limit=ten".to_owned(),
                400,
            ),
            ("ticket cursor", "/v1/tickets?cursor=%21%21".to_owned(), 422),
            (
                "ticket cursor of base64 junk",
                "/v1/tickets?cursor=aGVsbG8".to_owned(),
                422,
            ),
            (
                "created_after",
                "/v1/tickets?created_after=yesterday".to_owned(),
                400,
            ),
            (
                "unknown list parameter",
                "/v1/tickets?sort=asc".to_owned(),
                400,
            ),
            (
                "list consistent_with",
                "/v1/tickets?consistent_with=soon".to_owned(),
                422,
            ),
            (
                "list consistent_with in the future",
                "/v1/tickets?consistent_with=0-999999999".to_owned(),
                422,
            ),
            (
                "messages limit",
                format!("/v1/tickets/{id}/messages?limit=0"),
                422,
            ),
            (
                "messages cursor",
                format!("/v1/tickets/{id}/messages?cursor=%21%21"),
                422,
            ),
            (
                "messages consistent_with",
                format!("/v1/tickets/{id}/messages?consistent_with=x-y"),
                422,
            ),
            (
                "ticket consistent_with",
                format!("/v1/tickets/{id}?consistent_with=x"),
                422,
            ),
            ("as_of", format!("/v1/tickets/{id}?as_of=last-week"), 400),
            (
                "events limit",
                format!("/v1/tickets/{id}/events?limit=1000"),
                422,
            ),
            (
                "events cursor",
                format!("/v1/tickets/{id}/events?cursor=%21%21"),
                422,
            ),
        ] {
            let token = if path.contains("/events") {
                &auditor
            } else {
                &agent
            };
            refused(what, &app.get(&path, token).await, status);
        }
        for (what, path, status) in [
            ("feed after", "/v1/events?after=start", 422),
            ("feed limit", "/v1/events?limit=0", 422),
            ("feed limit too large", "/v1/events?limit=5000", 422),
        ] {
            refused(what, &app.get(path, &auditor).await, status);
        }

        for (what, value) in [
            ("If-Match not an ETag", "abc"),
            ("If-Match negative", "\"-1\""),
            ("If-Match a list", "\"1\", \"2\""),
        ] {
            let a = app
                .post_json_with(
                    &format!("/v1/tickets/{id}/status"),
                    &agent,
                    &json!({"status": "resolved"}),
                    &[("if-match", value)],
                )
                .await;
            refused(what, &a, 400);
        }
        let a = app
            .post_json_with(
                "/v1/tickets",
                &agent,
                &ticket_body("Bad key"),
                &[("idempotency-key", &"k".repeat(300))],
            )
            .await;
        refused("Idempotency-Key over 255 characters", &a, 400);

        assert_eq!(app.event_count().await, before, "nothing was appended");
        let read = app.get(&format!("/v1/tickets/{id}"), &agent).await;
        assert_eq!(read.body["status"], "open");
    }
);

both!(
    an_unsupported_method_on_a_known_route_is_a_problem,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Methods").await;
        let before = app.event_count().await;
        for (method, path) in [
            (Method::PUT, "/v1/tickets".to_owned()),
            (Method::DELETE, format!("/v1/tickets/{id}")),
            (Method::GET, format!("/v1/tickets/{id}/status")),
        ] {
            let a = app
                .send(app.request(method.clone(), &path, Some(&agent)))
                .await;
            refused(&format!("{method} {path}"), &a, 405);
        }
        assert_eq!(app.event_count().await, before);
    }
);
