//! History for analysts: the live feed (Server-Sent Events) resumes where a
//! client left off and keeps the log's order while writers run concurrently;
//! exports hold exactly the log, in NDJSON and CSV.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use tgcrm_store::tokens::Role;

use crate::both;
use crate::helpers::TestApp;

/// One Server-Sent Event: its `id` (a position token) and its data.
#[derive(Debug, Clone)]
struct Sse {
    id: String,
    event: String,
    data: Value,
}

/// A live feed connection that hands out whole events.
struct Feed {
    response: reqwest::Response,
    buffer: String,
}

impl Feed {
    async fn open(app: &TestApp, token: &str, query: &str, last_event_id: Option<&str>) -> Self {
        let mut request = app.request(
            Method::GET,
            &format!("/v1/events/stream{query}"),
            Some(token),
        );
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("opening the feed");
        assert_eq!(response.status(), 200);
        assert!(
            response
                .headers()
                .get("content-type")
                .and_then(|c| c.to_str().ok())
                .is_some_and(|c| c.starts_with("text/event-stream"))
        );
        Self {
            response,
            buffer: String::new(),
        }
    }

    /// The next event (comments and keep-alives skipped); `None` after `wait` of silence.
    async fn next(&mut self, wait: Duration) -> Option<Sse> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut id = None;
                let mut event = String::new();
                let mut data = String::new();
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("id: ") {
                        id = Some(v.to_owned());
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push_str(v);
                    }
                }
                let Some(id) = id else { continue };
                let data = serde_json::from_str(&data).expect("event data is JSON");
                return Some(Sse { id, event, data });
            }
            match tokio::time::timeout(wait, self.response.chunk()).await {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(std::str::from_utf8(&bytes).unwrap()),
                Ok(Ok(None)) => panic!("the feed ended"),
                Ok(Err(e)) => panic!("reading the feed: {e}"),
                Err(_) => return None,
            }
        }
    }
}

/// The workspace's whole log through the paged feed, in order.
async fn whole_log(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/events?limit=100&after={a}{query}"),
            None => format!("/v1/events?limit=100{query}"),
        };
        let page = app.get(&path, token).await;
        page.expect(200);
        if page.items().is_empty() {
            return out;
        }
        out.extend(page.items().iter().cloned());
        after = page.body["next_cursor"].as_str().map(str::to_owned);
    }
}

fn event_ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["event_id"].as_str().unwrap().to_owned())
        .collect()
}

/// Six writers, each opening a ticket and replying to it a few times.
async fn write_concurrently(app: &TestApp, token: &str) -> Vec<String> {
    let writers = (0..6).map(|w| {
        let app = app.clone();
        let token = token.to_owned();
        tokio::spawn(async move {
            let id = app
                .open_ticket_with_subject(&token, &format!("Writer {w}"))
                .await;
            for n in 0..5 {
                app.post_message(&id, &token, &format!("reply {n}"), "public")
                    .await
                    .expect(201);
            }
            id
        })
    });
    let mut tickets = Vec::new();
    for w in writers {
        tickets.push(w.await.unwrap());
    }
    tickets
}

both!(
    the_live_feed_resumes_after_a_disconnect_and_keeps_log_order_under_concurrent_writes,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let analyst = app.create_token(Role::Analyst, None).await;
        app.open_ticket_with_subject(&agent, "Before the feed")
            .await;

        // A reader follows the feed while six writers work, hangs up after
        // a dozen events and comes back with Last-Event-ID.
        let reader = {
            let app = app.clone();
            let analyst = analyst.clone();
            tokio::spawn(async move {
                let mut seen: Vec<Sse> = Vec::new();
                let mut feed = Feed::open(&app, &analyst, "", None).await;
                while seen.len() < 12 {
                    let e = feed
                        .next(Duration::from_secs(20))
                        .await
                        .expect("events keep coming");
                    seen.push(e);
                }
                drop(feed);
                let last = seen.last().unwrap().id.clone();
                let mut feed = Feed::open(&app, &analyst, "", Some(&last)).await;
                // Read until the feed has been quiet for a while.
                while let Some(e) = feed.next(Duration::from_secs(3)).await {
                    seen.push(e);
                }
                seen
            })
        };
        write_concurrently(&app, &agent).await;
        let streamed = reader.await.unwrap();
        app.wait_until_readable().await;
        let log = whole_log(&app, &analyst, "").await;

        let streamed_ids: Vec<String> = streamed
            .iter()
            .map(|e| e.data["event_id"].as_str().unwrap().to_owned())
            .collect();
        let unique: HashSet<&String> = streamed_ids.iter().collect();
        assert_eq!(unique.len(), streamed_ids.len(), "no event twice");
        assert_eq!(
            streamed_ids,
            event_ids(&log),
            "the feed, across the reconnect, is the log in its order"
        );
        for e in &streamed {
            assert_eq!(e.id, e.data["position"], "the SSE id is the position token");
            assert_eq!(e.event, e.data["event_type"]);
        }
    }
);

both!(
    the_live_feed_filters_by_event_type_and_aggregate,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let auditor = app.create_token(Role::Auditor, None).await;
        let watched = app.open_ticket_with_subject(&agent, "Watched").await;
        let other = app.open_ticket_with_subject(&agent, "Other").await;
        for id in [&watched, &other] {
            app.post_message(id, &agent, "hello", "public")
                .await
                .expect(201);
            app.set_status(id, &agent, "in_progress").await.expect(200);
        }
        let mut feed = Feed::open(
            &app,
            &auditor,
            &format!("?type=MessageAdded,StatusChanged&aggregate_id={watched}"),
            None,
        )
        .await;
        let mut got = Vec::new();
        while let Some(e) = feed.next(Duration::from_secs(2)).await {
            got.push((e.event, e.data["aggregate_id"].as_str().unwrap().to_owned()));
        }
        assert_eq!(
            got,
            [
                ("MessageAdded".to_owned(), watched.clone()),
                ("MessageAdded".to_owned(), watched.clone()),
                ("StatusChanged".to_owned(), watched.clone()),
            ],
            "the opening message, the reply and the status change of one ticket"
        );
        // Agents do not read the workspace's whole history.
        let a = app.get("/v1/events/stream", &agent).await;
        a.expect_problem(403);
        let bad = app.get("/v1/events/stream?after=nonsense", &auditor).await;
        bad.expect_problem(422);
    }
);

both!(
    an_export_holds_exactly_the_log_in_ndjson_and_csv,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let auditor = app.create_token(Role::Auditor, None).await;
        let tickets = write_concurrently(&app, &agent).await;
        // Text that CSV must quote.
        app.post_message(
            &tickets[0],
            &agent,
            "a \"quoted\", comma'd\nand two-line reply",
            "public",
        )
        .await
        .expect(201);
        app.wait_until_readable().await;
        let log = whole_log(&app, &auditor, "").await;
        assert_eq!(
            log.len() as i64,
            app.event_count().await,
            "one workspace here"
        );

        let ndjson = app.get("/v1/events/export", &auditor).await;
        assert_eq!(ndjson.status, 200);
        assert_eq!(
            ndjson.header("content-type").as_deref(),
            Some("application/x-ndjson")
        );
        let lines: Vec<Value> = ndjson
            .text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is one JSON event"))
            .collect();
        assert_eq!(lines.len(), log.len(), "count equals the log");
        for (exported, logged) in lines.iter().zip(&log) {
            assert_eq!(exported["event_id"], logged["event_id"]);
            assert_eq!(exported["event_type"], logged["event_type"]);
            assert_eq!(exported["aggregate_id"], logged["aggregate_id"]);
            assert_eq!(exported["sequence"], logged["sequence"]);
            assert_eq!(
                exported["payload"], logged["payload"],
                "content equals the log"
            );
            assert_eq!(exported["actor"], logged["metadata"]["actor"]);
            assert_eq!(exported["source"], logged["metadata"]["source"]);
            assert_eq!(
                exported["correlation_id"],
                logged["metadata"]["correlation_id"]
            );
            assert_eq!(exported["causation_id"], logged["metadata"]["causation_id"]);
            assert!(exported["recorded_at"].is_string());
            assert!(exported["position"].is_object() || exported["position"].is_string());
        }

        let csv = app.get("/v1/events/export?format=csv", &auditor).await;
        assert_eq!(csv.status, 200);
        let rows = parse_csv(&csv.text);
        assert_eq!(rows[0][0], "position", "a header row");
        let header = &rows[0];
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        assert_eq!(rows.len() - 1, log.len(), "count equals the log");
        for (row, logged) in rows[1..].iter().zip(&log) {
            assert_eq!(row.len(), header.len());
            assert_eq!(row[col("event_id")], logged["event_id"].as_str().unwrap());
            assert_eq!(row[col("position")], logged["position"].as_str().unwrap());
            let payload: Value = serde_json::from_str(&row[col("payload")]).unwrap();
            assert_eq!(payload, logged["payload"], "content equals the log");
        }

        // A slice: after a position, of one type.
        let cut = log[log.len() / 2]["position"].as_str().unwrap();
        let slice = app
            .get(
                &format!("/v1/events/export?after={cut}&type=MessageAdded"),
                &auditor,
            )
            .await;
        let expected = log[log.len() / 2 + 1..]
            .iter()
            .filter(|e| e["event_type"] == "MessageAdded")
            .count();
        assert_eq!(slice.text.lines().count(), expected);
        app.get("/v1/events/export?format=xml", &auditor)
            .await
            .expect_problem(422);
    }
);

/// Every record, the header first.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| {
            r.expect("well-formed CSV")
                .iter()
                .map(str::to_owned)
                .collect()
        })
        .collect()
}
