//! Concurrent commands on one ticket: version conflicts are retried inside the server.

use std::collections::BTreeSet;

use futures::future::join_all;
use serde_json::json;

use crate::both;
use crate::helpers::TestApp;

both!(
    twenty_concurrent_replies_to_one_ticket_are_all_accepted,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Busy").await;
        let replies = (0..20).map(|i| {
            let app = app.clone();
            let agent = agent.clone();
            let id = id.clone();
            tokio::spawn(async move {
                app.post_json(
                    &format!("/v1/tickets/{id}/messages"),
                    &agent,
                    &json!({"text": format!("reply {i}")}),
                )
                .await
            })
        });
        let answers: Vec<_> = join_all(replies)
            .await
            .into_iter()
            .map(|r| r.expect("the request task"))
            .collect();
        for a in &answers {
            a.expect(201);
        }
        let versions: BTreeSet<i64> = answers
            .iter()
            .map(|a| a.body["ticket"]["version"].as_i64().unwrap())
            .collect();
        assert_eq!(
            versions.len(),
            20,
            "each reply got its own version: {versions:?}"
        );

        let ticket = app.get(&format!("/v1/tickets/{id}"), &agent).await;
        ticket.expect(200);
        assert_eq!(ticket.body["message_count"], 21);
        assert_eq!(ticket.body["version"], 22);

        let newest = answers
            .iter()
            .max_by_key(|a| a.body["ticket"]["version"].as_i64().unwrap())
            .unwrap()
            .position();
        let messages = app
            .get(
                &format!("/v1/tickets/{id}/messages?limit=100&consistent_with={newest}"),
                &agent,
            )
            .await;
        messages.expect(200);
        let texts: BTreeSet<String> = messages
            .items()
            .iter()
            .map(|m| m["text"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(texts.len(), 21, "{}", messages.text);
        for i in 0..20 {
            assert!(texts.contains(&format!("reply {i}")), "reply {i} is there");
        }
        let events = app.ticket_events(&id, &agent).await;
        let sequences: Vec<i64> = events
            .iter()
            .map(|e| e["sequence"].as_i64().unwrap())
            .collect();
        assert_eq!(sequences, (1..=22).collect::<Vec<_>>());
    }
);
