//! Reading the log: a ticket's stream with its metadata, and the global feed.

use reqwest::Method;
use serde_json::{Value, json};
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::{TestApp, ticket_body};

both!(
    a_tickets_events_are_in_order_with_actor_source_request_and_correlation,
    |app: TestApp| async move {
        let (agent, agent_id) = app.agent().await;
        let (admin, admin_token_id) = app
            .create_token_record(crate::helpers::WORKSPACE, Role::Admin, None)
            .await;
        let opened = app
            .send(
                app.request(Method::POST, "/v1/tickets", Some(&agent))
                    .header("x-correlation-id", "crm-flow-7")
                    .json(&ticket_body("Audit trail")),
            )
            .await;
        opened.expect(201);
        let id = opened.id();
        let open_request = opened.header("x-request-id").expect("X-Request-Id");
        assert_eq!(
            opened.header("x-correlation-id").as_deref(),
            Some("crm-flow-7")
        );

        let changed = app
            .send(
                app.request(
                    Method::POST,
                    &format!("/v1/tickets/{id}/priority"),
                    Some(&admin),
                )
                .header("x-request-id", "req-from-client-1")
                .json(&json!({"priority": "high"})),
            )
            .await;
        changed.expect(200);
        assert_eq!(
            changed.header("x-request-id").as_deref(),
            Some("req-from-client-1"),
            "a sane client request id is kept"
        );

        let auditor = app.create_token(Role::Auditor, None).await;
        let events = app.ticket_events(&id, &auditor).await;
        let types: Vec<_> = events.iter().map(|e| e["event_type"].clone()).collect();
        assert_eq!(types, ["TicketOpened", "MessageAdded", "PriorityChanged"]);
        let sequences: Vec<_> = events
            .iter()
            .map(|e| e["sequence"].as_i64().unwrap())
            .collect();
        assert_eq!(sequences, [1, 2, 3]);
        for e in &events {
            assert_eq!(e["aggregate_type"], "ticket");
            assert_eq!(e["aggregate_id"], id.as_str());
            assert!(e["event_id"].is_string() && e["position"].is_string());
            assert_eq!(e["metadata"]["source"], "api");
            assert!(e["occurred_at"].is_string() && e["recorded_at"].is_string());
            assert!(e["payload"].is_object());
        }
        for e in &events[..2] {
            assert_eq!(e["metadata"]["actor"], format!("agent:{agent_id}"));
            assert_eq!(e["metadata"]["request_id"], open_request.as_str());
            assert_eq!(e["metadata"]["correlation_id"], "crm-flow-7");
        }
        let change = &events[2];
        assert_eq!(
            change["metadata"]["actor"],
            format!("token:{admin_token_id}")
        );
        assert_eq!(change["metadata"]["request_id"], "req-from-client-1");
        assert_eq!(
            change["metadata"]["correlation_id"], "req-from-client-1",
            "without X-Correlation-Id the request id correlates"
        );
        assert_eq!(
            events[0]["occurred_at"]
                .as_str()
                .unwrap()
                .parse::<chrono::DateTime<chrono::Utc>>()
                .unwrap(),
            crate::helpers::start_time(),
            "events happen at the application's clock"
        );

        // Paging through the ticket's stream.
        let first = app
            .get(&format!("/v1/tickets/{id}/events?limit=2"), &auditor)
            .await;
        first.expect(200);
        assert_eq!(first.items().len(), 2);
        let cursor = first.body["next_cursor"]
            .as_str()
            .expect("a next page")
            .to_owned();
        let rest = app
            .get(
                &format!("/v1/tickets/{id}/events?limit=2&cursor={cursor}"),
                &auditor,
            )
            .await;
        rest.expect(200);
        assert_eq!(rest.items().len(), 1);
        assert_eq!(rest.items()[0]["event_type"], "PriorityChanged");
        assert!(rest.body["next_cursor"].is_null());
    }
);

both!(
    the_global_feed_pages_with_after_limit_and_type,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let auditor = app.create_token(Role::Auditor, None).await;
        let mut tickets = Vec::new();
        for i in 0..3 {
            let id = app
                .open_ticket_with_subject(&agent, &format!("Feed {i}"))
                .await;
            app.set_status(&id, &agent, "in_progress").await.expect(200);
            tickets.push(id);
        }
        app.wait_until_readable().await;
        // Everything, in one page.
        let all = app.get("/v1/events?limit=100", &auditor).await;
        all.expect(200);
        let all_items = all.items().clone();
        let ticket_events: Vec<&Value> = all_items
            .iter()
            .filter(|e| e["aggregate_type"] == "ticket")
            .collect();
        assert_eq!(
            ticket_events.len(),
            9,
            "3 tickets × (opened, message, status)"
        );

        // The same, two at a time, following next_cursor.
        let mut paged = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..50 {
            let path = match &after {
                Some(a) => format!("/v1/events?limit=2&after={a}"),
                None => "/v1/events?limit=2".to_owned(),
            };
            let page = app.get(&path, &auditor).await;
            page.expect(200);
            assert!(page.items().len() <= 2);
            let next = page.body["next_cursor"]
                .as_str()
                .expect("the feed always gives a cursor")
                .to_owned();
            if page.items().is_empty() {
                assert_eq!(
                    Some(&next),
                    after.as_ref(),
                    "an empty page keeps the cursor"
                );
                break;
            }
            paged.extend(page.items().iter().cloned());
            after = Some(next);
        }
        let event_ids = |v: &[Value]| -> Vec<String> {
            v.iter()
                .map(|e| e["event_id"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(
            event_ids(&paged),
            event_ids(&all_items),
            "paging sees the same log in the same order"
        );

        // Continuing from the cursor sees only what is new.
        let cursor = after.unwrap();
        let newer = app.open_ticket_with_subject(&agent, "Later").await;
        app.wait_until_readable().await;
        let page = app
            .get(&format!("/v1/events?after={cursor}"), &auditor)
            .await;
        page.expect(200);
        let new_types: Vec<_> = page
            .items()
            .iter()
            .map(|e| {
                (
                    e["aggregate_id"].as_str().unwrap(),
                    e["event_type"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            new_types,
            [
                (newer.as_str(), "TicketOpened"),
                (newer.as_str(), "MessageAdded")
            ]
        );

        // Filtered by type, and by several types.
        let opened = app
            .get("/v1/events?type=TicketOpened&limit=100", &auditor)
            .await;
        opened.expect(200);
        assert_eq!(opened.items().len(), 4);
        assert!(
            opened
                .items()
                .iter()
                .all(|e| e["event_type"] == "TicketOpened")
        );
        let two = app
            .get(
                "/v1/events?type=TicketOpened,StatusChanged&limit=100",
                &auditor,
            )
            .await;
        two.expect(200);
        assert_eq!(two.items().len(), 7);
        let by_aggregate = app
            .get("/v1/events?aggregate_type=ticket&limit=100", &auditor)
            .await;
        by_aggregate.expect(200);
        assert_eq!(by_aggregate.items().len(), 11);
        let none = app.get("/v1/events?type=NoSuchEvent", &auditor).await;
        none.expect(200);
        assert!(none.items().is_empty());
    }
);
