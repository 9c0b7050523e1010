//! Bad input: every case is a problem+json 4xx that names the problem, and
//! nothing reaches the log.

use reqwest::Method;
use serde_json::{Value, json};
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::App;

both!(
    bad_input_is_a_clear_4xx_and_writes_nothing,
    |app: App| async move {
        let admin = app.token("acme", Role::Admin).await;
        let t = app.open_ticket(&admin, "Target").await;
        let before = app.event_count().await;
        let customer = json!({"telegram_user_id": 42, "name": "Ann"});
        let raw = |path: &str, body: &str, content_type: &str| {
            let client = app.client.clone();
            let url = format!("{}{path}", app.base);
            let admin = admin.clone();
            let body = body.to_owned();
            let content_type = content_type.to_owned();
            async move {
                crate::helpers::answer(
                    client
                        .post(url)
                        .bearer_auth(admin)
                        .header("content-type", content_type)
                        .body(body)
                        .send()
                        .await
                        .unwrap(),
                )
                .await
            }
        };
        let cases: Vec<(&str, crate::helpers::Answer, u16)> = vec![
        ("malformed JSON", raw("/v1/tickets", "{\"subject\": ", "application/json").await, 400),
        ("wrong content type", raw("/v1/tickets", "subject=x", "text/plain").await, 415),
        (
            "unknown field",
            app.post("/v1/tickets", &admin, json!({"subject": "x", "body": "x", "customer": customer, "colour": "red"})).await,
            400,
        ),
        ("empty subject", app.post("/v1/tickets", &admin, json!({"subject": "  ", "body": "x", "customer": customer})).await, 422),
        (
            "subject too long",
            app.post("/v1/tickets", &admin, json!({"subject": "s".repeat(201), "body": "x", "customer": customer})).await,
            422,
        ),
        (
            "oversized body",
            app.post("/v1/tickets", &admin, json!({"subject": "x", "body": "b".repeat(300 * 1024), "customer": customer})).await,
            413,
        ),
        (
            "bad customer",
            app.post("/v1/tickets", &admin, json!({"subject": "x", "body": "x", "customer": {"telegram_user_id": -1, "name": ""}}))
                .await,
            422,
        ),
        (
            "unknown ticket",
            app.post("/v1/tickets/0190a5a4-0000-7000-8000-000000000099/messages", &admin, json!({"text": "x"})).await,
            404,
        ),
        ("not an id", app.post("/v1/tickets/not-an-id/messages", &admin, json!({"text": "x"})).await, 404),
        ("invalid status", app.post(&format!("/v1/tickets/{t}/status"), &admin, json!({"status": "done"})).await, 422),
        ("invalid priority", app.post(&format!("/v1/tickets/{t}/priority"), &admin, json!({"priority": "asap"})).await, 422),
        ("empty message", app.post(&format!("/v1/tickets/{t}/messages"), &admin, json!({"text": ""})).await, 422),
        ("invalid visibility", app.post(&format!("/v1/tickets/{t}/messages"), &admin, json!({"text": "x", "visibility": "secret"})).await, 422),
        ("invalid limit", app.get("/v1/tickets?limit=1000", &admin).await, 422),
        ("invalid cursor", app.get("/v1/tickets?cursor=garbage!", &admin).await, 422),
        ("invalid status filter", app.get("/v1/tickets?status=done", &admin).await, 422),
        ("unknown query parameter", app.get("/v1/tickets?colour=red", &admin).await, 400),
        ("invalid consistent_with", app.get("/v1/tickets?consistent_with=soon", &admin).await, 422),
        ("position beyond the log", app.get("/v1/tickets?consistent_with=0-999999999", &admin).await, 422),
        (
            "bad If-Match",
            app.send(Method::POST, &format!("/v1/tickets/{t}/priority"), Some(&admin), Some(json!({"priority": "low"})), &[("If-Match", "yesterday")])
                .await,
            400,
        ),
        ("unknown route", app.get("/v1/nothing-here", &admin).await, 404),
    ];
        for (what, answer, status) in cases {
            assert_eq!(answer.status, status, "{what}: {}", answer.body);
            assert_eq!(answer.content_type, "application/problem+json", "{what}");
            assert_eq!(answer.body["status"], Value::from(status), "{what}");
            assert!(
                !answer.body["detail"].as_str().unwrap_or("").is_empty(),
                "{what} names the problem"
            );
        }
        assert_eq!(
            app.event_count().await,
            before,
            "nothing was written to the log"
        );
    }
);
