//! Service levels end to end: SLA and escalation policies over HTTP, the
//! monitor recording warnings and breaches at their moment (exactly once),
//! escalation rules firing once, the breach list, and metric values checked
//! against hand-computed figures. Time is the application's manual clock;
//! targets are seconds long.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::{TestApp, start_time};

/// Poll `probe` until it returns `Some`, for up to 15 s (projectors and
/// reactors run in the background).
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str()
        .unwrap_or_else(|| panic!("not a time: {v}"))
        .parse()
        .unwrap()
}

/// The ticket's events of `event_type`, with their payload bodies.
async fn events_of(app: &TestApp, ticket: &str, token: &str, event_type: &str) -> Vec<Value> {
    app.ticket_events(ticket, token)
        .await
        .into_iter()
        .filter(|e| e["event_type"] == event_type)
        .collect()
}

fn body(e: &Value) -> &Value {
    let t = e["event_type"].as_str().unwrap();
    &e["payload"][t]
}

/// An always-open policy for normal and high tickets.
fn quick_policy(first_response: i64, resolution: i64, warning: u8) -> Value {
    let t = json!({"first_response": first_response, "resolution": resolution});
    json!({
        "name": "Quick",
        "warning_percent": warning,
        "targets": {"normal": t, "high": t},
    })
}

async fn create_policy(app: &TestApp, admin: &str, body: &Value) -> Value {
    let a = app.post_json("/v1/sla-policies", admin, body).await;
    a.expect(201);
    a.body.clone()
}

/// Open a ticket and wait until the SLA applier has applied a policy to it.
async fn open_measured(app: &TestApp, token: &str, subject: &str) -> (String, Value) {
    let id = app
        .open_ticket(
            token,
            &json!({
                "subject": subject,
                "body": "Hello?",
                "customer": {"telegram_user_id": 4242, "name": "Ann Example"},
            }),
        )
        .await
        .id();
    let sla = eventually("the SLA policy to apply", || async {
        let t = app.get(&format!("/v1/tickets/{id}"), token).await;
        t.expect(200);
        (!t.body["sla"].is_null()).then(|| t.body["sla"].clone())
    })
    .await;
    (id, sla)
}

fn target<'a>(sla: &'a Value, metric: &str) -> &'a Value {
    sla["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["metric"] == metric)
        .unwrap_or_else(|| panic!("no {metric} target in {sla}"))
}

both!(
    sla_policies_are_versioned_admin_only_and_checked,
    |app: TestApp| async move {
        let admin = app.create_token(Role::Admin, None).await;
        let (agent, _) = app.agent().await;
        let body = json!({
            "name": "Office hours",
            "rank": 5,
            "conditions": {"priorities": ["high", "urgent"], "segments": ["vip"]},
            "calendar": {
                "kind": "business_hours", "time_zone": "Europe/Berlin",
                "weekly": [{"day": "mon", "start": "09:00", "end": "17:00"}],
                "holidays": ["2026-12-25"]
            },
            "warning_percent": 75,
            "targets": {"high": {"first_response": 3600, "resolution": 28800}},
        });
        app.post_json("/v1/sla-policies", &agent, &body)
            .await
            .expect_problem(403);
        let created = app.post_json("/v1/sla-policies", &admin, &body).await;
        created.expect(201);
        assert_eq!(created.header("etag").as_deref(), Some("\"1\""));
        let id = created.id();
        assert_eq!(created.body["version"], 1);
        assert_eq!(created.body["calendar"]["time_zone"], "Europe/Berlin");
        assert_eq!(created.body["targets"]["high"]["first_response"], 3600);

        let read = app.get(&format!("/v1/sla-policies/{id}"), &agent).await;
        read.expect(200);
        assert_eq!(read.body["conditions"]["segments"], json!(["vip"]));

        let patched = app
            .send(
                app.request(
                    reqwest::Method::PATCH,
                    &format!("/v1/sla-policies/{id}"),
                    Some(&admin),
                )
                .header("if-match", "\"1\"")
                .json(&json!({"warning_percent": 90})),
            )
            .await;
        patched.expect(200);
        assert_eq!(patched.body["version"], 2);
        assert_eq!(patched.body["warning_percent"], 90);
        assert_eq!(patched.body["name"], "Office hours");
        // A stale If-Match is refused.
        app.send(
            app.request(
                reqwest::Method::PATCH,
                &format!("/v1/sla-policies/{id}"),
                Some(&admin),
            )
            .header("if-match", "\"1\"")
            .json(&json!({"rank": 1})),
        )
        .await
        .expect_problem(412);

        let list = app
            .get(
                &format!("/v1/sla-policies?consistent_with={}", patched.position()),
                &admin,
            )
            .await;
        list.expect(200);
        assert_eq!(list.items().len(), 1);
        assert_eq!(list.items()[0]["version"], 2);

        // Field problems are named.
        let bad = app
            .post_json(
                "/v1/sla-policies",
                &admin,
                &json!({
                    "name": "Bad",
                    "calendar": {"kind": "business_hours", "time_zone": "Mars/Olympus",
                        "weekly": [{"day": "mon", "start": "17:00", "end": "09:00"}]},
                    "targets": {"highest": {"first_response": 0}},
                }),
            )
            .await;
        bad.expect_problem(422);
        let fields: Vec<&str> = bad.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["field"].as_str().unwrap())
            .collect();
        assert!(fields.contains(&"targets.highest"), "{fields:?}");

        // Another workspace does not see it.
        let stranger = app.create_token_in("globex", Role::Admin, None).await;
        app.get(&format!("/v1/sla-policies/{id}"), &stranger)
            .await
            .expect_problem(404);

        app.delete(&format!("/v1/sla-policies/{id}"), &admin)
            .await
            .expect(204);
        app.get(&format!("/v1/sla-policies/{id}"), &admin)
            .await
            .expect_problem(404);
    }
);

both!(
    warning_and_breach_are_recorded_at_their_moment_exactly_once,
    |app: TestApp| async move {
        let admin = app.create_token(Role::Admin, None).await;
        let (agent, _) = app.agent().await;
        let policy = create_policy(&app, &admin, &quick_policy(10, 100, 50)).await;
        let (id, sla) = open_measured(&app, &agent, "Clock is ticking").await;
        let opened = start_time();
        assert_eq!(sla["policy_id"], policy["id"]);
        assert_eq!(sla["policy_version"], 1);
        let first = target(&sla, "first_response");
        assert_eq!(
            time(&first["due_at"]),
            opened + chrono::Duration::seconds(10)
        );
        assert_eq!(
            time(&first["warn_at"]),
            opened + chrono::Duration::seconds(5)
        );
        assert_eq!(first["state"], "ok");

        // Before the warning threshold nothing is recorded.
        app.advance(chrono::Duration::seconds(4));
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(events_of(&app, &id, &agent, "SlaWarning").await.is_empty());

        // At 50 % of the target: the warning, stamped at its moment.
        app.advance(chrono::Duration::seconds(1));
        let warning = eventually("the warning", || async {
            events_of(&app, &id, &agent, "SlaWarning").await.pop()
        })
        .await;
        assert_eq!(body(&warning)["metric"], "first_response");
        assert_eq!(
            time(&body(&warning)["at"]),
            opened + chrono::Duration::seconds(5)
        );
        assert_eq!(warning["metadata"]["actor"], "system:sla");
        assert_eq!(warning["metadata"]["source"], "system");
        let applied = events_of(&app, &id, &agent, "SlaPolicyApplied").await;
        assert_eq!(applied.len(), 1);
        assert_eq!(warning["metadata"]["causation_id"], applied[0]["event_id"]);

        // At the due time: the breach.
        app.advance(chrono::Duration::seconds(5));
        let breach = eventually("the breach", || async {
            events_of(&app, &id, &agent, "SlaBreached").await.pop()
        })
        .await;
        assert_eq!(
            time(&body(&breach)["at"]),
            opened + chrono::Duration::seconds(10)
        );
        assert_eq!(
            time(&body(&breach)["due_at"]),
            opened + chrono::Duration::seconds(10)
        );

        // Many ticks later, still exactly one of each.
        app.advance(chrono::Duration::seconds(3));
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(events_of(&app, &id, &agent, "SlaWarning").await.len(), 1);
        assert_eq!(events_of(&app, &id, &agent, "SlaBreached").await.len(), 1);

        let ticket = app.get(&format!("/v1/tickets/{id}"), &agent).await;
        assert_eq!(
            target(&ticket.body["sla"], "first_response")["state"],
            "breached"
        );
        assert_eq!(target(&ticket.body["sla"], "resolution")["state"], "ok");

        let breaches = eventually("the breach list", || async {
            let a = app
                .get("/v1/sla/breaches?metric=first_response", &agent)
                .await;
            a.expect(200);
            (!a.items().is_empty()).then(|| a.items().clone())
        })
        .await;
        assert_eq!(breaches.len(), 1);
        assert_eq!(breaches[0]["ticket_id"], id);
        assert_eq!(breaches[0]["state"], "breached");
        let none = app.get("/v1/sla/breaches?state=warning", &agent).await;
        none.expect(200);
        assert!(none.items().is_empty(), "{}", none.text);
        app.get("/v1/sla/breaches?metric=speed", &agent)
            .await
            .expect_problem(422);
    }
);

both!(
    waiting_on_the_customer_pauses_the_clock,
    |app: TestApp| async move {
        let admin = app.create_token(Role::Admin, None).await;
        let (agent, _) = app.agent().await;
        create_policy(&app, &admin, &quick_policy(10, 100, 0)).await;
        let (id, _) = open_measured(&app, &agent, "Need more info").await;
        app.advance(chrono::Duration::seconds(4));
        app.set_status(&id, &agent, "waiting_on_customer")
            .await
            .expect(200);
        let paused = app.get(&format!("/v1/tickets/{id}"), &agent).await;
        let first = target(&paused.body["sla"], "first_response");
        assert_eq!(first["state"], "paused");
        assert!(first["due_at"].is_null());
        // A long wait on the customer breaches nothing.
        app.advance(chrono::Duration::seconds(60));
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(events_of(&app, &id, &agent, "SlaBreached").await.is_empty());
        // Back in progress: 4 s were used, 6 s remain from now.
        let resumed = app.set_status(&id, &agent, "in_progress").await;
        resumed.expect(200);
        let first = target(&resumed.body["sla"], "first_response");
        assert_eq!(
            time(&first["due_at"]),
            start_time() + chrono::Duration::seconds(70)
        );
    }
);

both!(
    escalation_rules_fire_once_with_their_actions,
    |app: TestApp| async move {
        let admin = app.create_token(Role::Admin, None).await;
        let (agent, _) = app.agent().await;
        let team = uuid::Uuid::now_v7().to_string();
        create_policy(&app, &admin, &quick_policy(60, 600, 0)).await;
        let rules = json!({
            "name": "Default escalation",
            "rules": [
                {
                    "name": "Waited 30 s",
                    "conditions": [{"type": "no_agent_reply", "seconds": 30}],
                    "actions": [
                        {"type": "add_tag", "tag": "escalated"},
                        {"type": "raise_priority"},
                        {"type": "internal_note", "text": "Nobody answered for 30 seconds"},
                        {"type": "emit_webhook", "label": "waited"}
                    ]
                },
                {
                    "name": "First response breached",
                    "conditions": [{"type": "sla_breach", "metric": "first_response"}],
                    "actions": [{"type": "move_to_team", "team_id": team}]
                }
            ]
        });
        app.post_json("/v1/escalation-policies", &agent, &rules)
            .await
            .expect_problem(403);
        let policy = app
            .post_json("/v1/escalation-policies", &admin, &rules)
            .await;
        policy.expect(201);
        assert_eq!(policy.body["rules"][1]["tier"], 2);
        let rule1 = policy.body["rules"][0]["id"].clone();

        let (id, _) = open_measured(&app, &agent, "Anyone there?").await;
        app.advance(chrono::Duration::seconds(29));
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert!(
            events_of(&app, &id, &agent, "TicketEscalated")
                .await
                .is_empty()
        );

        app.advance(chrono::Duration::seconds(1));
        let escalated = eventually("the first escalation", || async {
            events_of(&app, &id, &agent, "TicketEscalated").await.pop()
        })
        .await;
        assert_eq!(body(&escalated)["rule_id"], rule1);
        assert_eq!(body(&escalated)["tier"], 1);
        assert_eq!(escalated["metadata"]["actor"], "system:escalation");
        assert_eq!(
            time(&body(&escalated)["at"]),
            start_time() + chrono::Duration::seconds(30)
        );
        let ticket = app.get(&format!("/v1/tickets/{id}"), &agent).await;
        assert_eq!(ticket.body["priority"], "high");
        assert!(
            ticket.body["tags"]
                .as_array()
                .unwrap()
                .contains(&json!("escalated"))
        );
        eventually("the escalation note", || async {
            let m = app
                .get(&format!("/v1/tickets/{id}/messages?limit=100"), &agent)
                .await;
            m.items()
                .iter()
                .any(|m| m["visibility"] == "internal" && m["author"]["kind"] == "system")
                .then_some(())
        })
        .await;

        // The first-response breach fires the second rule.
        app.advance(chrono::Duration::seconds(30));
        let second = eventually("the second escalation", || async {
            let all = events_of(&app, &id, &agent, "TicketEscalated").await;
            (all.len() == 2).then(|| all[1].clone())
        })
        .await;
        assert_eq!(body(&second)["tier"], 2);
        let breach = events_of(&app, &id, &agent, "SlaBreached").await;
        assert_eq!(breach.len(), 1);
        assert_eq!(second["metadata"]["causation_id"], breach[0]["event_id"]);
        let ticket = app.get(&format!("/v1/tickets/{id}"), &agent).await;
        assert_eq!(ticket.body["team_id"], json!(team));

        // Each rule fired once, however long the ticket waits.
        app.advance(chrono::Duration::seconds(120));
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(
            events_of(&app, &id, &agent, "TicketEscalated").await.len(),
            2
        );
    }
);

both!(
    metrics_match_hand_computed_figures,
    |app: TestApp| async move {
        use chrono::Duration as D;
        let admin = app.create_token(Role::Admin, None).await;
        let (agent, agent_id) = app.agent().await;
        let bot = app.create_token(Role::Bot, None).await;
        // Office hours Mon–Fri 09:00–17:00 UTC; the clock starts Monday 09:00.
        let weekly: Vec<Value> = ["mon", "tue", "wed", "thu", "fri"]
            .iter()
            .map(|d| json!({"day": d, "start": "09:00", "end": "17:00"}))
            .collect();
        create_policy(
            &app,
            &admin,
            &json!({
                "name": "Office",
                "calendar": {"kind": "business_hours", "time_zone": "UTC", "weekly": weekly},
                "targets": {"normal": {"first_response": 3600}},
            }),
        )
        .await;
        let monday = start_time();
        // Ticket A, Monday 09:00. An internal note at 09:10 is no response;
        // the public reply at 09:30 is: 1800 s, all within office hours.
        let (a, _) = open_measured(&app, &agent, "A").await;
        app.clock.set(monday + D::minutes(10));
        app.post_message(&a, &agent, "checking", "internal")
            .await
            .expect(201);
        app.clock.set(monday + D::minutes(30));
        app.post_message(&a, &agent, "On it", "public")
            .await
            .expect(201);
        // Resolved at 10:00: first resolution 3600 s.
        app.clock.set(monday + D::hours(1));
        app.set_status(&a, &agent, "resolved").await.expect(200);
        // Ticket B, Monday 16:30, answered Tuesday 09:15: 60300 s on the
        // wall clock, 30 + 15 minutes = 2700 s of office hours.
        app.clock.set(monday + D::minutes(7 * 60 + 30));
        let (b, _) = open_measured(&app, &agent, "B").await;
        app.clock.set(monday + D::minutes(24 * 60 + 15));
        app.post_message(&b, &agent, "Morning!", "public")
            .await
            .expect(201);
        // The customer reopens A on Tuesday 10:00; resolved again at 11:00.
        app.clock.set(monday + D::hours(25));
        app.post_message(&a, &bot, "It broke again", "public")
            .await
            .expect(201);
        app.clock.set(monday + D::hours(26));
        let last = app.set_status(&a, &agent, "resolved").await;
        last.expect(200);
        let pos = last.position();
        let range = "from=2026-03-02T00:00:00Z&to=2026-03-04T00:00:00Z";

        let fr = app
            .get(
                &format!("/v1/metrics/first-response?{range}&consistent_with={pos}"),
                &admin,
            )
            .await;
        fr.expect(200);
        let g = &fr.body["groups"][0];
        assert_eq!(g["key"], "all");
        assert_eq!(g["calendar"]["count"], 2);
        assert_eq!(g["calendar"]["mean"], 31050.0);
        assert_eq!(g["calendar"]["median"], 31050.0);
        // p90 of [1800, 60300]: 1800 + 0.9 × 58500.
        assert_eq!(g["calendar"]["p90"], 54450.0);
        assert_eq!(g["business"]["mean"], 2250.0);
        assert_eq!(g["business"]["p90"], 2610.0);

        let by_day = app
            .get(
                &format!("/v1/metrics/first-response?{range}&group_by=day"),
                &admin,
            )
            .await;
        by_day.expect(200);
        let days: Vec<(Value, Value)> = by_day.body["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| (g["key"].clone(), g["business"]["mean"].clone()))
            .collect();
        assert_eq!(
            days,
            vec![
                (json!("2026-03-02"), json!(1800.0)),
                (json!("2026-03-03"), json!(2700.0))
            ]
        );
        let by_agent = app
            .get(
                &format!("/v1/metrics/first-response?{range}&group_by=agent"),
                &admin,
            )
            .await;
        assert_eq!(by_agent.body["groups"][0]["key"], json!(agent_id));

        // Resolution: A's first resolution took 3600 s; its full resolution
        // (Monday 09:00 → Tuesday 11:00) 93600 s, of which 8 h + 2 h in office
        // hours; its second cycle (Tuesday 10:00 → 11:00) 3600 s.
        let first = app
            .get(&format!("/v1/metrics/resolution?{range}"), &admin)
            .await;
        first.expect(200);
        assert_eq!(first.body["groups"][0]["calendar"]["count"], 1);
        assert_eq!(first.body["groups"][0]["calendar"]["mean"], 3600.0);
        let full = app
            .get(
                &format!("/v1/metrics/resolution?{range}&measure=full"),
                &admin,
            )
            .await;
        assert_eq!(full.body["groups"][0]["calendar"]["mean"], 93600.0);
        assert_eq!(full.body["groups"][0]["business"]["mean"], 36000.0);
        let cycles = app
            .get(
                &format!("/v1/metrics/resolution?{range}&measure=cycles"),
                &admin,
            )
            .await;
        assert_eq!(cycles.body["groups"][0]["calendar"]["count"], 2);
        assert_eq!(cycles.body["groups"][0]["calendar"]["mean"], 3600.0);

        // Both first responses were within their targets.
        let sla = app
            .get(
                &format!("/v1/metrics/sla?{range}&measure=first_response"),
                &admin,
            )
            .await;
        sla.expect(200);
        assert_eq!(sla.body["groups"][0]["count"], 2);
        assert_eq!(sla.body["groups"][0]["met_share"], 1.0);

        // Time travel: the same reports as they stood on Monday at 20:00,
        // before B was answered and before A was reopened.
        let then = "as_of=2026-03-02T20:00:00Z";
        let fr_then = app
            .get(
                &format!("/v1/metrics/first-response?from=2026-03-02T00:00:00Z&{then}"),
                &admin,
            )
            .await;
        fr_then.expect(200);
        assert_eq!(fr_then.body["as_of"], "2026-03-02T20:00:00Z");
        assert_eq!(
            fr_then.body["to"], "2026-03-02T20:00:00Z",
            "to defaults to as_of"
        );
        assert_eq!(fr_then.body["groups"][0]["calendar"]["count"], 1);
        assert_eq!(fr_then.body["groups"][0]["calendar"]["mean"], 1800.0);
        // A's full resolution then was its first one: 3600 s, not 93600 s.
        let full_then = app
            .get(
                &format!("/v1/metrics/resolution?{range}&measure=full&{then}"),
                &admin,
            )
            .await;
        full_then.expect(200);
        assert_eq!(full_then.body["groups"][0]["calendar"]["count"], 1);
        assert_eq!(full_then.body["groups"][0]["calendar"]["mean"], 3600.0);
        let cycles_then = app
            .get(
                &format!("/v1/metrics/resolution?{range}&measure=cycles&{then}"),
                &admin,
            )
            .await;
        assert_eq!(cycles_then.body["groups"][0]["calendar"]["count"], 1);
        // B's first response target (due Tuesday 09:30 in office hours) was
        // not settled yet on Monday evening; A's was, and met.
        let sla_then = app
            .get(
                &format!("/v1/metrics/sla?{range}&measure=first_response&{then}"),
                &admin,
            )
            .await;
        sla_then.expect(200);
        assert_eq!(sla_then.body["groups"][0]["count"], 1);
        assert_eq!(sla_then.body["groups"][0]["met_share"], 1.0);
        // Before anything happened there is nothing to report.
        let before = app
            .get(
                &format!("/v1/metrics/first-response?{range}&as_of=2026-03-01T00:00:00Z"),
                &admin,
            )
            .await;
        before.expect(200);
        assert!(
            before.body["groups"]
                .as_array()
                .unwrap()
                .iter()
                .all(|g| g["calendar"]["count"] == 0),
            "{}",
            before.text
        );

        app.get(
            &format!("/v1/metrics/resolution?{range}&group_by=month"),
            &admin,
        )
        .await
        .expect_problem(422);
        app.get(&format!("/v1/metrics/resolution?{range}"), &bot)
            .await
            .expect_problem(403);
    }
);

both!(
    queues_order_by_sla_due_time_within_a_priority,
    |app: TestApp| async move {
        use chrono::Duration as D;
        let admin = app.create_token(Role::Admin, None).await;
        let (agent, _) = app.agent().await;
        // First response in 10 minutes, resolution in a day.
        create_policy(&app, &admin, &quick_policy(600, 86_400, 80)).await;
        let opened = start_time();
        // A waits longest, but its first response is met: next due is resolution.
        let (a, _) = open_measured(&app, &agent, "Answered").await;
        app.clock.set(opened + D::minutes(1));
        app.post_message(&a, &agent, "On it", "public")
            .await
            .expect(201);
        // B came later and nobody answered it: due in 10 minutes.
        app.clock.set(opened + D::minutes(2));
        let (b, _) = open_measured(&app, &agent, "Unanswered").await;

        let page = eventually("the queue to order by due time", || async {
            let page = app.get("/v1/queues/all", &agent).await;
            page.expect(200);
            let items = page.body["items"].as_array().unwrap().clone();
            let ready = items.len() == 2 && items.iter().all(|i| !i["sla_due_at"].is_null());
            ready.then_some(items)
        })
        .await;
        let ids: Vec<&str> = page
            .iter()
            .map(|i| i["ticket_id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, vec![b.as_str(), a.as_str()]);
        assert_eq!(time(&page[0]["sla_due_at"]), opened + D::minutes(12));
        assert_eq!(time(&page[1]["sla_due_at"]), opened + D::days(1));

        // Waiting on the customer pauses B's clock: no due time, so after A.
        app.set_status(&b, &agent, "waiting_on_customer")
            .await
            .expect(200);
        let page = eventually("B's clock to pause", || async {
            let page = app.get("/v1/queues/all", &agent).await;
            page.expect(200);
            let items = page.body["items"].as_array().unwrap().clone();
            (items.len() == 2 && items[1]["sla_due_at"].is_null()).then_some(items)
        })
        .await;
        assert_eq!(page[0]["ticket_id"], a.as_str());
        assert_eq!(page[1]["ticket_id"], b.as_str());
    }
);
