//! The status machine: `closed` only from `resolved`, and `closed` is final.

use serde_json::json;

use crate::both;
use crate::helpers::TestApp;

both!(
    closing_an_unresolved_ticket_is_refused_with_a_reason,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Not yet").await;
        let before = app.event_count().await;
        let a = app.set_status(&id, &agent, "closed").await;
        a.expect_problem(409);
        assert_eq!(a.body["type"], "/problems/close-requires-resolved");
        let detail = a.body["detail"].as_str().unwrap();
        assert!(
            detail.contains("resolved"),
            "the refusal says what is needed: {detail}"
        );
        assert_eq!(app.event_count().await, before);
        let read = app.get(&format!("/v1/tickets/{id}"), &agent).await;
        assert_eq!(read.body["status"], "open");
    }
);

both!(
    a_ticket_moves_through_the_statuses_and_closes_once_resolved,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Lifecycle").await;
        for status in [
            "in_progress",
            "waiting_on_customer",
            "in_progress",
            "resolved",
        ] {
            let a = app.set_status(&id, &agent, status).await;
            a.expect(200);
            assert_eq!(a.body["status"], status);
        }
        let a = app
            .post_json(
                &format!("/v1/tickets/{id}/status"),
                &agent,
                &json!({"status": "closed", "reason": "confirmed by phone"}),
            )
            .await;
        a.expect(200);
        assert_eq!(a.body["status"], "closed");
        assert!(a.body["closed_at"].is_string(), "{}", a.text);
        let events = app.ticket_events(&id, &agent).await;
        let last = events.last().unwrap();
        assert_eq!(last["event_type"], "StatusChanged");
        assert!(
            last["payload"].to_string().contains("confirmed by phone"),
            "the reason is on record: {last}"
        );
        // Setting the status it already has changes nothing.
        let (agent2, _) = app.agent().await;
        let other = app.open_ticket_with_subject(&agent2, "Same").await;
        let before = app.event_count().await;
        app.set_status(&other, &agent2, "open").await.expect(200);
        assert_eq!(app.event_count().await, before);
    }
);

both!(a_closed_ticket_is_final, |app: TestApp| async move {
    let (agent, agent_id) = app.agent().await;
    let id = app.open_ticket_with_subject(&agent, "Final").await;
    app.set_status(&id, &agent, "resolved").await.expect(200);
    app.set_status(&id, &agent, "closed").await.expect(200);
    let before = app.event_count().await;
    for status in ["open", "in_progress", "resolved"] {
        let a = app.set_status(&id, &agent, status).await;
        a.expect_problem(409);
        assert_eq!(a.body["type"], "/problems/ticket-closed");
    }
    app.post_json(
        &format!("/v1/tickets/{id}/priority"),
        &agent,
        &json!({"priority": "urgent"}),
    )
    .await
    .expect_problem(409);
    app.post_json(
        &format!("/v1/tickets/{id}/assignment"),
        &agent,
        &json!({ "agent_id": agent_id }),
    )
    .await
    .expect_problem(409);
    app.post_json(
        &format!("/v1/tickets/{id}/tags"),
        &agent,
        &json!({"add": ["late"]}),
    )
    .await
    .expect_problem(409);
    assert_eq!(app.event_count().await, before);
    let read = app.get(&format!("/v1/tickets/{id}"), &agent).await;
    assert_eq!(read.body["status"], "closed");
});
