//! The ticket list: filters, cursor pagination, read-your-writes.

use serde_json::{Value, json};
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::App;

fn ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

both!(
    list_filters_and_cursor_pages_return_every_ticket_exactly_once,
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
        let mut all = Vec::new();
        for i in 0..7 {
            let t = app
            .post(
                "/v1/tickets",
                &agent,
                json!({"subject": format!("t{i}"), "body": "x", "priority": if i % 2 == 0 { "high" } else { "low" },
                       "tags": if i < 3 { vec!["billing"] } else { vec![] },
                       "customer": {"telegram_user_id": 42, "name": "Ann"}}),
            )
            .await;
            all.push(t.body["id"].as_str().unwrap().to_owned());
            app.clock.advance(chrono::Duration::minutes(10));
        }
        app.post(
            &format!("/v1/tickets/{}/assignment", all[0]),
            &agent,
            json!({"agent_id": assignee, "team_id": team}),
        )
        .await;
        let last = app
            .post(
                &format!("/v1/tickets/{}/status", all[1]),
                &agent,
                json!({"status": "resolved"}),
            )
            .await;
        let pos = last.header("x-event-position").unwrap();

        // Read-your-writes: the list reflects the write at once.
        let resolved = app
            .get(
                &format!("/v1/tickets?status=resolved&consistent_with={pos}"),
                &agent,
            )
            .await;
        assert_eq!(ids(&resolved.body), vec![all[1].clone()]);
        let high = app.get("/v1/tickets?priority=high", &agent).await;
        assert_eq!(ids(&high.body).len(), 4);
        let mine = app
            .get(&format!("/v1/tickets?assignee={assignee}"), &agent)
            .await;
        assert_eq!(ids(&mine.body), vec![all[0].clone()]);
        let unassigned = app.get("/v1/tickets?assignee=none", &agent).await;
        assert_eq!(ids(&unassigned.body).len(), 6);
        let by_team = app.get(&format!("/v1/tickets?team={team}"), &agent).await;
        assert_eq!(ids(&by_team.body), vec![all[0].clone()]);
        let tagged = app.get("/v1/tickets?tag=billing", &agent).await;
        assert_eq!(ids(&tagged.body).len(), 3);
        let window = app
        .get("/v1/tickets?created_after=2026-03-01T09:15:00Z&created_before=2026-03-01T09:45:00Z", &agent)
        .await;
        assert_eq!(
            ids(&window.body),
            vec![all[4].clone(), all[3].clone(), all[2].clone()]
        );

        // Pages of two, newest first, each ticket exactly once.
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/tickets?limit=2&cursor={c}"),
                None => "/v1/tickets?limit=2".to_owned(),
            };
            let page = app.get(&path, &agent).await;
            assert_eq!(page.status, 200);
            seen.extend(ids(&page.body));
            match page.body["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => break,
            }
        }
        let mut expected = all.clone();
        expected.reverse();
        assert_eq!(seen, expected);
    }
);
