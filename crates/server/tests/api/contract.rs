//! Each row of the core contract.

use reqwest::Method;
use serde_json::json;
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::App;

const AGENT: &str = "0190a5a4-0000-7000-8000-0000000000a1";

both!(
    health_readiness_and_the_openapi_document_are_served,
    |app: App| async move {
        let h = app.send(Method::GET, "/healthz", None, None, &[]).await;
        assert_eq!(h.status, 200);
        let mut ready = 0;
        for _ in 0..50 {
            ready = app
                .send(Method::GET, "/readyz", None, None, &[])
                .await
                .status;
            if ready == 200 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        assert_eq!(ready, 200);
        let doc = app
            .send(Method::GET, "/openapi.json", None, None, &[])
            .await;
        assert!(doc.body["openapi"].as_str().unwrap().starts_with("3.1"));
        let paths = doc.body["paths"].as_object().unwrap();
        for p in [
            "/v1/me",
            "/v1/tickets",
            "/v1/tickets/{id}",
            "/v1/tickets/{id}/messages",
            "/v1/tickets/{id}/status",
            "/v1/tickets/{id}/assignment",
            "/v1/tickets/{id}/priority",
            "/v1/tickets/{id}/events",
            "/v1/events",
            "/v1/intake",
        ] {
            assert!(paths.contains_key(p), "{p} is documented");
        }
    }
);

both!(
    tokens_authenticate_and_roles_are_enforced,
    |app: App| async move {
        let none = app.send(Method::GET, "/v1/me", None, None, &[]).await;
        assert_eq!(none.status, 401);
        assert_eq!(none.content_type, "application/problem+json");
        assert_eq!(none.header("www-authenticate").as_deref(), Some("Bearer"));
        let bad = app.get("/v1/me", "crm_live_nope").await;
        assert_eq!(bad.status, 401);
        let agent = app.token_for("acme", Role::Agent, Some(AGENT)).await;
        let me = app.get("/v1/me", &agent).await;
        assert_eq!(me.body["workspace"], "acme");
        assert_eq!(me.body["role"], "agent");
        assert_eq!(me.body["agent_id"], AGENT);
        let analyst = app.token("acme", Role::Analyst).await;
        let bot = app.token("acme", Role::Bot).await;
        let auditor = app.token("acme", Role::Auditor).await;
        let t = app.open_ticket(&agent, "Roles").await;
        assert_eq!(
            app.post(
                &format!("/v1/tickets/{t}/messages"),
                &analyst,
                json!({"text": "hi"})
            )
            .await
            .status,
            403
        );
        assert_eq!(
            app.post(
                &format!("/v1/tickets/{t}/status"),
                &bot,
                json!({"status": "resolved"})
            )
            .await
            .status,
            403
        );
        assert_eq!(app.get("/v1/events", &auditor).await.status, 200);
        assert_eq!(app.get("/v1/events", &agent).await.status, 403);
    }
);

both!(
    opening_a_ticket_answers_with_location_etag_and_position_and_is_idempotent,
    |app: App| async move {
        let admin = app.token("acme", Role::Admin).await;
        let body = json!({"subject": "Order late", "body": "Where is it?", "priority": "high", "tags": ["shipping"],
                      "fields": {"order_no": "A-1"}, "customer": {"telegram_user_id": 42, "name": "Ann", "username": "@ann_k"}});
        let first = app
            .send(
                Method::POST,
                "/v1/tickets",
                Some(&admin),
                Some(body.clone()),
                &[("Idempotency-Key", "k-1")],
            )
            .await;
        assert_eq!(first.status, 201);
        let id = first.body["id"].as_str().unwrap().to_owned();
        assert_eq!(
            first.header("location").unwrap(),
            format!("/v1/tickets/{id}")
        );
        assert_eq!(first.header("etag").unwrap(), "\"2\"");
        assert!(first.header("x-event-position").is_some());
        assert_eq!(first.body["priority"], "high");
        assert_eq!(first.body["customer"]["username"], "ann_k");
        let before = app.event_count().await;
        let again = app
            .send(
                Method::POST,
                "/v1/tickets",
                Some(&admin),
                Some(body),
                &[("Idempotency-Key", "k-1")],
            )
            .await;
        assert_eq!(again.status, 200);
        assert_eq!(again.body["id"], id.as_str());
        assert_eq!(app.event_count().await, before, "a repeat writes nothing");
    }
);

both!(
    the_conversation_hides_internal_notes_from_non_agent_roles,
    |app: App| async move {
        let agent = app.token_for("acme", Role::Agent, Some(AGENT)).await;
        let bot = app.token("acme", Role::Bot).await;
        let analyst = app.token("acme", Role::Analyst).await;
        let t = app.open_ticket(&agent, "Notes").await;
        let reply = app
            .post(
                &format!("/v1/tickets/{t}/messages"),
                &agent,
                json!({"text": "On it"}),
            )
            .await;
        assert_eq!(reply.status, 201);
        assert_eq!(reply.body["message"]["author"]["kind"], "agent");
        assert_eq!(reply.body["message"]["author"]["id"], AGENT);
        let note = app
            .post(
                &format!("/v1/tickets/{t}/messages"),
                &agent,
                json!({"text": "VIP", "visibility": "internal"}),
            )
            .await;
        let pos = note.header("x-event-position").unwrap();
        let path = format!("/v1/tickets/{t}/messages?consistent_with={pos}");
        let seen_by_agent = app.get(&path, &agent).await;
        assert_eq!(seen_by_agent.body["items"].as_array().unwrap().len(), 3);
        for token in [&bot, &analyst] {
            let seen = app.get(&path, token).await;
            let items = seen.body["items"].as_array().unwrap();
            assert_eq!(items.len(), 2);
            assert!(items.iter().all(|m| m["visibility"] == "public"));
        }
        assert_eq!(
            app.post(
                &format!("/v1/tickets/{t}/messages"),
                &bot,
                json!({"text": "x", "visibility": "internal"})
            )
            .await
            .status,
            403
        );
    }
);

both!(
    the_status_workflow_refuses_what_it_must,
    |app: App| async move {
        let agent = app.token("acme", Role::Agent).await;
        let bot = app.token("acme", Role::Bot).await;
        let t = app.open_ticket(&agent, "Workflow").await;
        let status = |s: &'static str| json!({"status": s});
        let close = app
            .post(&format!("/v1/tickets/{t}/status"), &agent, status("closed"))
            .await;
        assert_eq!(close.status, 409);
        assert_eq!(close.content_type, "application/problem+json");
        assert!(close.body["detail"].as_str().unwrap().contains("resolved"));
        assert_eq!(
            app.post(
                &format!("/v1/tickets/{t}/status"),
                &agent,
                status("in_progress")
            )
            .await
            .status,
            200
        );
        assert_eq!(
            app.post(
                &format!("/v1/tickets/{t}/status"),
                &agent,
                status("resolved")
            )
            .await
            .status,
            200
        );
        // A customer message reopens a resolved ticket.
        let m = app
            .post(
                &format!("/v1/tickets/{t}/messages"),
                &bot,
                json!({"text": "still broken"}),
            )
            .await;
        assert_eq!(m.body["ticket"]["status"], "open");
        assert_eq!(
            app.post(
                &format!("/v1/tickets/{t}/status"),
                &agent,
                status("resolved")
            )
            .await
            .status,
            200
        );
        let closed = app
            .post(
                &format!("/v1/tickets/{t}/status"),
                &agent,
                json!({"status": "closed", "reason": "done"}),
            )
            .await;
        assert_eq!(closed.status, 200);
        assert_eq!(closed.body["status"], "closed");
        // Closed is final.
        assert_eq!(
            app.post(&format!("/v1/tickets/{t}/status"), &agent, status("open"))
                .await
                .status,
            409
        );
        assert_eq!(
            app.post(
                &format!("/v1/tickets/{t}/messages"),
                &bot,
                json!({"text": "hello?"})
            )
            .await
            .status,
            409
        );
        assert_eq!(
            app.post(&format!("/v1/tickets/{t}/archive"), &agent, json!(null))
                .await
                .status,
            200
        );
    }
);

both!(
    priority_assignment_tags_and_fields_change_the_ticket,
    |app: App| async move {
        let agent = app.token("acme", Role::Agent).await;
        // Tickets are assigned only to agents and teams that exist.
        let admin = app.token("acme", Role::Admin).await;
        let assignee = app
            .post("/v1/agents", &admin, json!({"name": "Ann"}))
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let team = app
            .post("/v1/teams", &admin, json!({"name": "Billing"}))
            .await
            .body["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let t = app.open_ticket(&agent, "Changes").await;
        let p = app
            .post(
                &format!("/v1/tickets/{t}/priority"),
                &agent,
                json!({"priority": "urgent"}),
            )
            .await;
        assert_eq!(p.body["priority"], "urgent");
        let a = app
            .post(
                &format!("/v1/tickets/{t}/assignment"),
                &agent,
                json!({"agent_id": assignee, "team_id": team, "note": "yours"}),
            )
            .await;
        assert_eq!(a.body["assignee_agent_id"], assignee.as_str());
        assert_eq!(a.body["team_id"], team.as_str());
        let u = app
            .send(
                Method::DELETE,
                &format!("/v1/tickets/{t}/assignment"),
                Some(&agent),
                None,
                &[],
            )
            .await;
        assert_eq!(u.status, 200);
        assert!(u.body["assignee_agent_id"].is_null());
        assert_eq!(u.body["team_id"], team.as_str());
        let tags = app
            .post(
                &format!("/v1/tickets/{t}/tags"),
                &agent,
                json!({"add": ["VIP", "billing"]}),
            )
            .await;
        assert_eq!(tags.body["tags"], json!(["billing", "vip"]));
        let f = app
            .post(
                &format!("/v1/tickets/{t}/fields"),
                &agent,
                json!({"set": {"plan": "pro", "seats": 5}}),
            )
            .await;
        assert_eq!(f.body["fields"]["seats"], 5);
        let stale = app
            .send(
                Method::POST,
                &format!("/v1/tickets/{t}/priority"),
                Some(&agent),
                Some(json!({"priority": "low"})),
                &[("If-Match", "\"2\"")],
            )
            .await;
        assert_eq!(stale.status, 412);
        let current = app.get(&format!("/v1/tickets/{t}"), &agent).await;
        let etag = current.header("etag").unwrap();
        let fresh = app
            .send(
                Method::POST,
                &format!("/v1/tickets/{t}/priority"),
                Some(&agent),
                Some(json!({"priority": "low"})),
                &[("If-Match", &etag)],
            )
            .await;
        assert_eq!(fresh.status, 200);
    }
);

both!(
    a_ticket_can_be_read_as_it_stood_at_any_instant,
    |app: App| async move {
        let agent = app.token("acme", Role::Agent).await;
        let t = app.open_ticket(&agent, "Time travel").await;
        app.clock.advance(chrono::Duration::hours(1));
        app.post(
            &format!("/v1/tickets/{t}/priority"),
            &agent,
            json!({"priority": "urgent"}),
        )
        .await;
        app.clock.advance(chrono::Duration::hours(1));
        app.post(
            &format!("/v1/tickets/{t}/status"),
            &agent,
            json!({"status": "resolved"}),
        )
        .await;
        let at = |ts: &str| format!("/v1/tickets/{t}?as_of={ts}");
        let early = app.get(&at("2026-03-01T09:30:00Z"), &agent).await;
        assert_eq!(early.body["priority"], "normal");
        assert_eq!(early.body["status"], "open");
        let middle = app.get(&at("2026-03-01T10:30:00Z"), &agent).await;
        assert_eq!(middle.body["priority"], "urgent");
        assert_eq!(middle.body["status"], "open");
        let now = app.get(&format!("/v1/tickets/{t}"), &agent).await;
        assert_eq!(now.body["status"], "resolved");
        assert_eq!(
            app.get(&at("2026-03-01T08:00:00Z"), &agent).await.status,
            404
        );
    }
);

both!(
    the_ticket_stream_and_the_global_feed_carry_metadata,
    |app: App| async move {
        let admin = app.token("acme", Role::Admin).await;
        let opened = app
        .send(
            Method::POST,
            "/v1/tickets",
            Some(&admin),
            Some(json!({"subject": "Audit me", "body": "x", "customer": {"telegram_user_id": 5, "name": "E"}})),
            &[("X-Request-Id", "req-123"), ("X-Correlation-Id", "corr-9")],
        )
        .await;
        assert_eq!(opened.header("x-request-id").as_deref(), Some("req-123"));
        let t = opened.body["id"].as_str().unwrap().to_owned();
        let events = app.get(&format!("/v1/tickets/{t}/events"), &admin).await;
        let items = events.body["items"].as_array().unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["event_type"], "TicketOpened");
        assert_eq!(items[1]["event_type"], "MessageAdded");
        assert_eq!(items[0]["metadata"]["request_id"], "req-123");
        assert_eq!(items[0]["metadata"]["correlation_id"], "corr-9");
        assert_eq!(items[0]["metadata"]["source"], "api");
        assert!(
            items[0]["metadata"]["actor"]
                .as_str()
                .unwrap()
                .starts_with("token:")
        );
        let mut feed = app
            .get("/v1/events?limit=1&type=TicketOpened,MessageAdded", &admin)
            .await;
        for _ in 0..50 {
            if !feed.body["items"].as_array().unwrap().is_empty() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            feed = app
                .get("/v1/events?limit=1&type=TicketOpened,MessageAdded", &admin)
                .await;
        }
        assert_eq!(feed.body["items"].as_array().unwrap().len(), 1);
        let next = feed.body["next_cursor"].as_str().unwrap().to_owned();
        let rest = app
            .get(
                &format!("/v1/events?after={next}&type=TicketOpened,MessageAdded"),
                &admin,
            )
            .await;
        assert_eq!(rest.body["items"][0]["event_type"], "MessageAdded");
    }
);

both!(
    an_intake_submission_opens_a_telegram_ticket,
    |app: App| async move {
        let bot = app.token("acme", Role::Bot).await;
        let a = app
        .post(
            "/v1/intake",
            &bot,
            json!({"telegram_user_id": 555, "name": "Ivan", "text": "Cannot log in\nsince yesterday",
                   "metadata": {"category": "login"}, "media": [{"kind": "photo", "reference": "AgAC123"}]}),
        )
        .await;
        assert_eq!(a.status, 201, "{}", a.body);
        assert_eq!(a.body["channel"], "telegram");
        assert_eq!(a.body["subject"], "Cannot log in");
        assert_eq!(a.body["fields"]["category"], "login");
    }
);

both!(
    concurrent_replies_to_one_ticket_all_land,
    |app: App| async move {
        let agent = app.token("acme", Role::Agent).await;
        let t = app.open_ticket(&agent, "Busy").await;
        let replies: Vec<_> = (0..20)
            .map(|i| {
                let client = app.client.clone();
                let url = format!("{}/v1/tickets/{t}/messages", app.base);
                let agent = agent.clone();
                tokio::spawn(async move {
                    client
                        .post(url)
                        .bearer_auth(agent)
                        .json(&json!({"text": format!("reply {i}")}))
                        .send()
                        .await
                        .unwrap()
                        .status()
                        .as_u16()
                })
            })
            .collect();
        for r in replies {
            assert_eq!(r.await.unwrap(), 201);
        }
        let ticket = app.get(&format!("/v1/tickets/{t}"), &agent).await;
        assert_eq!(ticket.body["message_count"], 21);
        assert_eq!(ticket.body["version"], 22);
    }
);
