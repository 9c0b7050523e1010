//! Opening tickets and changing them: priority, assignment, tags, fields,
//! archive, and optimistic concurrency with `If-Match`.

use reqwest::Method;
use serde_json::{Value, json};
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::{TestApp, WORKSPACE, ticket_body};

fn event_types(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event_type"].as_str().unwrap())
        .collect()
}

both!(
    opening_a_ticket_answers_201_with_location_etag_and_event_position,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let body = json!({
            "subject": "  Parcel lost  ",
            "body": "Where is my parcel?",
            "customer": {"telegram_user_id": 777, "name": "Bob", "username": "@bobby"},
            "priority": "high",
            "tags": ["Shipping", "vip"],
            "fields": {"order_id": "A-17", "amount": 12.5, "gift": true},
        });
        let a = app.open_ticket(&agent, &body).await;
        let id = a.id();
        assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");
        assert_eq!(
            a.header("location").as_deref(),
            Some(format!("/v1/tickets/{id}").as_str())
        );
        assert_eq!(a.header("etag").as_deref(), Some("\"2\""), "{}", a.text);
        assert_eq!(a.body["version"], 2);
        assert!(!a.position().is_empty());
        assert_eq!(a.body["workspace"], WORKSPACE);
        assert_eq!(a.body["subject"], "Parcel lost");
        assert_eq!(a.body["status"], "open");
        assert_eq!(a.body["priority"], "high");
        assert_eq!(a.body["channel"], "api");
        assert_eq!(a.body["customer"]["telegram_user_id"], 777);
        assert_eq!(a.body["customer"]["name"], "Bob");
        assert_eq!(a.body["tags"], json!(["shipping", "vip"]));
        assert_eq!(a.body["fields"]["order_id"], "A-17");
        assert_eq!(a.body["fields"]["amount"], 12.5);
        assert_eq!(a.body["fields"]["gift"], true);
        assert_eq!(a.body["message_count"], 1);
        assert_eq!(a.body["archived"], false);
        assert!(a.body["assignee_agent_id"].is_null());
        assert_eq!(
            a.body["opened_at"]
                .as_str()
                .map(|s| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap()),
            Some(crate::helpers::start_time()),
            "opened at the application's clock"
        );

        let read = app.get(&format!("/v1/tickets/{id}"), &agent).await;
        read.expect(200);
        assert_eq!(read.header("etag").as_deref(), Some("\"2\""));
        assert_eq!(read.body["subject"], "Parcel lost");
        assert_eq!(read.body["version"], 2);

        let events = app.ticket_events(&id, &agent).await;
        assert_eq!(event_types(&events), ["TicketOpened", "MessageAdded"]);
    }
);

both!(
    repeating_an_open_with_the_same_idempotency_key_returns_the_ticket_and_appends_nothing,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let body = ticket_body("Only once");
        let open = || {
            app.post_json_with(
                "/v1/tickets",
                &agent,
                &body,
                &[("idempotency-key", "intake-123")],
            )
        };
        let first = open().await;
        first.expect(201);
        let id = first.id();
        let before = app.event_count().await;
        let again = open().await;
        again.expect(200);
        assert_eq!(again.id(), id);
        assert_eq!(again.body["version"], first.body["version"]);
        assert_eq!(again.header("etag"), first.header("etag"));
        assert_eq!(app.event_count().await, before, "a repeat appends nothing");
        assert_eq!(app.ticket_events(&id, &agent).await.len(), 2);
        // Without the key, the same body opens another ticket.
        let other = app.open_ticket(&agent, &ticket_body("Only once")).await;
        assert_ne!(other.id(), id);
    }
);

both!(
    priority_changes_and_a_repeat_changes_nothing,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Prioritise").await;
        let path = format!("/v1/tickets/{id}/priority");
        let a = app
            .post_json(&path, &agent, &json!({"priority": "urgent"}))
            .await;
        a.expect(200);
        assert_eq!(a.body["priority"], "urgent");
        assert_eq!(a.body["version"], 3);
        assert_eq!(a.header("etag").as_deref(), Some("\"3\""));
        assert!(!a.position().is_empty());
        let before = app.event_count().await;
        let again = app
            .post_json(&path, &agent, &json!({"priority": "urgent"}))
            .await;
        again.expect(200);
        assert_eq!(again.body["version"], 3);
        assert_eq!(app.event_count().await, before);
        let events = app.ticket_events(&id, &agent).await;
        let last = events.last().unwrap();
        assert_eq!(last["event_type"], "PriorityChanged");
    }
);

both!(
    assigning_to_an_agent_and_a_team_with_a_transfer_note_then_unassigning,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Assign me").await;
        let path = format!("/v1/tickets/{id}/assignment");
        // Tickets go only to agents and teams of the workspace.
        let admin = app.create_token(Role::Admin, None).await;
        let first_agent = app.register_agent(&admin, &json!({"name": "First"})).await;
        let second_agent = app.register_agent(&admin, &json!({"name": "Second"})).await;
        let team = app.create_team(&admin, &json!({"name": "Billing"})).await;

        let a = app
            .post_json(&path, &agent, &json!({"agent_id": first_agent}))
            .await;
        a.expect(200);
        assert_eq!(a.body["assignee_agent_id"], first_agent.as_str());
        assert!(a.body["team_id"].is_null());

        let a = app
            .post_json(&path, &agent, &json!({"team_id": team}))
            .await;
        a.expect(200);
        assert_eq!(a.body["team_id"], team.as_str());
        assert_eq!(
            a.body["assignee_agent_id"],
            first_agent.as_str(),
            "joining a team keeps the agent"
        );

        let a = app
            .post_json(
                &path,
                &agent,
                &json!({"agent_id": second_agent, "note": "Customer wants a refund; see order A-17"}),
            )
            .await;
        a.expect(200);
        assert_eq!(a.body["assignee_agent_id"], second_agent.as_str());
        let events = app.ticket_events(&id, &agent).await;
        let transfer = events.last().unwrap();
        assert_eq!(transfer["event_type"], "TicketAssigned");
        assert!(
            transfer["payload"].to_string().contains("see order A-17"),
            "the transfer note is on record: {transfer}"
        );

        let a = app.delete(&path, &agent).await;
        a.expect(200);
        assert!(a.body["assignee_agent_id"].is_null(), "{}", a.text);
        assert_eq!(
            a.body["team_id"],
            team.as_str(),
            "the team keeps the ticket"
        );
        let events = app.ticket_events(&id, &agent).await;
        assert_eq!(events.last().unwrap()["event_type"], "TicketUnassigned");

        // Nobody left to release.
        let again = app.delete(&path, &agent).await;
        again.expect_problem(409);
        // Naming neither an agent nor a team is a field problem.
        app.post_json(&path, &agent, &json!({}))
            .await
            .expect_problem(422);
        app.post_json(&path, &agent, &json!({"agent_id": "bob"}))
            .await
            .expect_problem(422);
    }
);

both!(
    tags_are_added_normalised_and_removed,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Tag me").await;
        let path = format!("/v1/tickets/{id}/tags");
        let a = app
            .post_json(&path, &agent, &json!({"add": ["Billing", "vip", "refund"]}))
            .await;
        a.expect(200);
        assert_eq!(a.body["tags"], json!(["billing", "refund", "vip"]));
        let a = app
            .post_json(&path, &agent, &json!({"remove": ["vip"], "add": ["eu"]}))
            .await;
        a.expect(200);
        assert_eq!(a.body["tags"], json!(["billing", "eu", "refund"]));
        let before = app.event_count().await;
        app.post_json(&path, &agent, &json!({"add": ["not a tag!"]}))
            .await
            .expect_problem(422);
        app.post_json(&path, &agent, &json!({}))
            .await
            .expect_problem(422);
        assert_eq!(app.event_count().await, before);
        let events = app.ticket_events(&id, &agent).await;
        assert_eq!(events.last().unwrap()["event_type"], "TagsChanged");
    }
);

both!(
    custom_fields_are_set_and_removed,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Fields").await;
        let path = format!("/v1/tickets/{id}/fields");
        let a = app
            .post_json(
                &path,
                &agent,
                &json!({"set": {"order_id": "A-1", "amount": 30, "express": false}}),
            )
            .await;
        a.expect(200);
        assert_eq!(
            a.body["fields"],
            json!({"order_id": "A-1", "amount": 30, "express": false})
        );
        let a = app
            .post_json(
                &path,
                &agent,
                &json!({"set": {"amount": 31}, "remove": ["express"]}),
            )
            .await;
        a.expect(200);
        assert_eq!(a.body["fields"], json!({"order_id": "A-1", "amount": 31}));
        let before = app.event_count().await;
        app.post_json(&path, &agent, &json!({"set": {"Bad Key": 1}}))
            .await
            .expect_problem(422);
        app.post_json(&path, &agent, &json!({"set": {"nested": {"a": 1}}}))
            .await
            .expect_problem(422);
        assert_eq!(app.event_count().await, before);
    }
);

both!(
    only_a_closed_ticket_can_be_archived_and_then_it_leaves_the_list,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Archive me").await;
        let archive = format!("/v1/tickets/{id}/archive");
        let refused = app.post_json(&archive, &agent, &json!({})).await;
        refused.expect_problem(409);
        assert_eq!(refused.body["type"], "/problems/archive-requires-closed");
        app.set_status(&id, &agent, "resolved").await.expect(200);
        app.set_status(&id, &agent, "closed").await.expect(200);
        let a = app.post_json(&archive, &agent, &json!({})).await;
        a.expect(200);
        assert_eq!(a.body["archived"], true);
        let position = a.position();
        let list = app
            .get(&format!("/v1/tickets?consistent_with={position}"), &agent)
            .await;
        list.expect(200);
        assert!(
            list.items().iter().all(|t| t["id"] != id.as_str()),
            "archived tickets are not listed by default: {}",
            list.text
        );
        let list = app
            .get(
                &format!("/v1/tickets?archived=true&consistent_with={position}"),
                &agent,
            )
            .await;
        list.expect(200);
        let listed: Vec<_> = list
            .items()
            .iter()
            .filter(|t| t["id"] == id.as_str())
            .collect();
        assert_eq!(listed.len(), 1, "{}", list.text);
        assert_eq!(listed[0]["archived"], true);
    }
);

both!(
    a_stale_if_match_is_412_and_the_current_one_succeeds,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let opened = app.open_ticket(&agent, &ticket_body("Concurrency")).await;
        let id = opened.id();
        let etag = opened.header("etag").unwrap();
        // Someone else changes the ticket.
        let changed = app
            .post_json(
                &format!("/v1/tickets/{id}/priority"),
                &agent,
                &json!({"priority": "low"}),
            )
            .await;
        changed.expect(200);
        let before = app.event_count().await;
        let stale = app
            .post_json_with(
                &format!("/v1/tickets/{id}/status"),
                &agent,
                &json!({"status": "in_progress"}),
                &[("if-match", &etag)],
            )
            .await;
        stale.expect_problem(412);
        assert_eq!(stale.body["type"], "/problems/precondition-failed");
        let stale_message = app
            .send(
                app.request(
                    Method::POST,
                    &format!("/v1/tickets/{id}/messages"),
                    Some(&agent),
                )
                .header("if-match", &etag)
                .json(&json!({"text": "based on an old view"})),
            )
            .await;
        stale_message.expect_problem(412);
        assert_eq!(
            app.event_count().await,
            before,
            "a stale write appends nothing"
        );

        let current = changed.header("etag").unwrap();
        let ok = app
            .post_json_with(
                &format!("/v1/tickets/{id}/status"),
                &agent,
                &json!({"status": "in_progress"}),
                &[("if-match", &current)],
            )
            .await;
        ok.expect(200);
        assert_eq!(ok.body["status"], "in_progress");
        // Weak form and bare number are accepted too.
        let version = ok.body["version"].as_i64().unwrap();
        let weak = format!("W/\"{version}\"");
        app.post_json_with(
            &format!("/v1/tickets/{id}/priority"),
            &agent,
            &json!({"priority": "high"}),
            &[("if-match", &weak)],
        )
        .await
        .expect(200);
        let admin = app.create_token(Role::Admin, None).await;
        let read = app.get(&format!("/v1/tickets/{id}"), &admin).await;
        assert_eq!(read.body["priority"], "high");
        assert_eq!(read.body["status"], "in_progress");
    }
);
