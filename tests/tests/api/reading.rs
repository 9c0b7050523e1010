//! Queries: read-your-writes, list filters, cursor pagination and `as_of`.

use std::collections::BTreeSet;

use chrono::{Duration, SecondsFormat};
use serde_json::json;
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::{TestApp, ids, start_time, ticket_body};

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

both!(
    a_list_with_consistent_with_includes_the_write_immediately,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let opened = app.open_ticket(&agent, &ticket_body("Fresh")).await;
        let id = opened.id();
        let list = app
            .get(
                &format!("/v1/tickets?consistent_with={}", opened.position()),
                &agent,
            )
            .await;
        list.expect(200);
        assert_eq!(ids(list.items()), std::slice::from_ref(&id));
        assert_eq!(list.items()[0]["priority"], "normal");

        let changed = app
            .post_json(
                &format!("/v1/tickets/{id}/priority"),
                &agent,
                &json!({"priority": "urgent"}),
            )
            .await;
        changed.expect(200);
        let list = app
            .get(
                &format!(
                    "/v1/tickets?priority=urgent&consistent_with={}",
                    changed.position()
                ),
                &agent,
            )
            .await;
        list.expect(200);
        assert_eq!(ids(list.items()), std::slice::from_ref(&id));
        assert_eq!(list.items()[0]["version"], 3);

        let reply = app
            .post_message(&id, &agent, "Checking now.", "public")
            .await;
        reply.expect(201);
        let messages = app
            .get(
                &format!(
                    "/v1/tickets/{id}/messages?consistent_with={}",
                    reply.position()
                ),
                &agent,
            )
            .await;
        messages.expect(200);
        assert_eq!(messages.items().len(), 2);
        assert_eq!(messages.items()[1]["text"], "Checking now.");
    }
);

both!(
    the_ticket_list_filters_by_status_priority_assignee_team_tag_and_creation_time,
    |app: TestApp| async move {
        let (agent, agent_id) = app.agent().await;
        let admin = app.create_token(Role::Admin, None).await;
        let created = app
            .post_json("/v1/teams", &admin, &json!({"name": "Returns"}))
            .await;
        created.expect(201);
        let team = created.id();
        let t0 = start_time();

        // a: urgent, tagged vip, assigned to the agent; opened at t0.
        let a = app
            .open_ticket(
                &agent,
                &json!({
                    "subject": "A", "body": "a",
                    "customer": {"telegram_user_id": 1, "name": "A"},
                    "priority": "urgent", "tags": ["vip"],
                }),
            )
            .await
            .id();
        app.post_json(
            &format!("/v1/tickets/{a}/assignment"),
            &agent,
            &json!({"agent_id": agent_id}),
        )
        .await
        .expect(200);
        // b: low, with a team, resolved; opened at t0 + 1h.
        app.advance(Duration::hours(1));
        let b = app
            .open_ticket(
                &agent,
                &json!({
                    "subject": "B", "body": "b",
                    "customer": {"telegram_user_id": 2, "name": "B"},
                    "priority": "low",
                }),
            )
            .await
            .id();
        app.post_json(
            &format!("/v1/tickets/{b}/assignment"),
            &agent,
            &json!({"team_id": team}),
        )
        .await
        .expect(200);
        app.set_status(&b, &agent, "resolved").await.expect(200);
        // c: normal, nothing else; opened at t0 + 2h.
        app.advance(Duration::hours(1));
        let c = app.open_ticket(&agent, &ticket_body("C")).await;
        let position = c.position();
        let c = c.id();

        let analyst = app.create_token(Role::Analyst, None).await;
        let query = |filter: String| {
            let app = app.clone();
            let analyst = analyst.clone();
            let position = position.clone();
            async move {
                let a = app
                    .get(
                        &format!("/v1/tickets?{filter}&consistent_with={position}"),
                        &analyst,
                    )
                    .await;
                a.expect(200);
                let got: BTreeSet<String> = ids(a.items()).into_iter().collect();
                got
            }
        };
        let set = |v: &[&String]| -> BTreeSet<String> { v.iter().map(|s| (*s).clone()).collect() };

        assert_eq!(query("limit=100".into()).await, set(&[&a, &b, &c]));
        assert_eq!(query("status=resolved".into()).await, set(&[&b]));
        assert_eq!(query("status=open".into()).await, set(&[&a, &c]));
        assert_eq!(query("priority=urgent".into()).await, set(&[&a]));
        assert_eq!(query("priority=low".into()).await, set(&[&b]));
        assert_eq!(query(format!("assignee={agent_id}")).await, set(&[&a]));
        assert_eq!(query("assignee=none".into()).await, set(&[&b, &c]));
        assert_eq!(
            query(format!("assignee={}", uuid::Uuid::now_v7())).await,
            set(&[])
        );
        assert_eq!(query(format!("team={team}")).await, set(&[&b]));
        assert_eq!(query("tag=vip".into()).await, set(&[&a]));
        assert_eq!(query("tag=nothing".into()).await, set(&[]));
        let half_past = rfc3339(t0 + Duration::minutes(30));
        let later = rfc3339(t0 + Duration::minutes(90));
        assert_eq!(
            query(format!("created_after={half_past}")).await,
            set(&[&b, &c])
        );
        assert_eq!(
            query(format!("created_before={later}")).await,
            set(&[&a, &b])
        );
        assert_eq!(
            query(format!("created_after={half_past}&created_before={later}")).await,
            set(&[&b])
        );
        assert_eq!(
            query("status=open&priority=urgent&tag=vip".into()).await,
            set(&[&a])
        );

        // Newest first.
        let all = app
            .get(&format!("/v1/tickets?consistent_with={position}"), &analyst)
            .await;
        assert_eq!(ids(all.items()), [c.clone(), b.clone(), a.clone()]);
    }
);

both!(
    paging_with_a_cursor_returns_every_ticket_exactly_once,
    |app: TestApp| async move {
        let bot = app.create_token(Role::Bot, None).await;
        let mut opened = BTreeSet::new();
        let mut position = String::new();
        for i in 0..7 {
            // Some share a creation time, some do not: the cursor must order both.
            if i % 3 == 0 {
                app.advance(Duration::seconds(1));
            }
            let a = app
                .open_ticket(&bot, &ticket_body(&format!("Page {i}")))
                .await;
            opened.insert(a.id());
            position = a.position();
        }
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let mut path = format!("/v1/tickets?limit=2&consistent_with={position}");
            if let Some(c) = &cursor {
                path.push_str(&format!("&cursor={c}"));
            }
            let page = app.get(&path, &bot).await;
            page.expect(200);
            assert!(page.items().len() <= 2);
            seen.extend(ids(page.items()));
            pages += 1;
            assert!(pages <= 10, "paging does not end");
            match page.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen.len(), 7, "every ticket once: {seen:?}");
        assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), opened);
        assert!(pages >= 4);

        let bad = app.get("/v1/tickets?cursor=not-a-cursor", &bot).await;
        assert!((400..500).contains(&bad.status), "{}", bad.text);
        bad.expect_problem(bad.status);
    }
);

both!(
    as_of_shows_the_ticket_as_it_stood_then,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let t0 = start_time();
        let id = app.open_ticket_with_subject(&agent, "History").await;
        app.advance(Duration::hours(1));
        app.post_json(
            &format!("/v1/tickets/{id}/priority"),
            &agent,
            &json!({"priority": "high"}),
        )
        .await
        .expect(200);
        app.advance(Duration::hours(1));
        app.set_status(&id, &agent, "resolved").await.expect(200);

        let at = |t: chrono::DateTime<chrono::Utc>| {
            let app = app.clone();
            let agent = agent.clone();
            let id = id.clone();
            async move {
                app.get(&format!("/v1/tickets/{id}?as_of={}", rfc3339(t)), &agent)
                    .await
            }
        };
        let first = at(t0 + Duration::minutes(30)).await;
        first.expect(200);
        assert_eq!(first.body["status"], "open");
        assert_eq!(first.body["priority"], "normal");
        assert_eq!(first.body["version"], 2);
        assert_eq!(first.header("etag").as_deref(), Some("\"2\""));

        let second = at(t0 + Duration::minutes(90)).await;
        second.expect(200);
        assert_eq!(second.body["status"], "open");
        assert_eq!(second.body["priority"], "high");
        assert_eq!(second.body["version"], 3);

        let now = at(t0 + Duration::hours(3)).await;
        now.expect(200);
        assert_eq!(now.body["status"], "resolved");

        let current = app.get(&format!("/v1/tickets/{id}"), &agent).await;
        assert_eq!(current.body["status"], "resolved");
        assert_eq!(current.body["priority"], "high");

        let before = at(t0 - Duration::minutes(1)).await;
        before.expect_problem(404);
    }
);
