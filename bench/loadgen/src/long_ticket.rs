//! `tgcrm-bench long-ticket`: command latency on a ticket with many events
//! against a new one. The long ticket is grown through the API (so it has the
//! snapshots the server writes), then single commands alternate between it
//! and fresh tickets, one at a time, so both see the same server state.

use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::Serialize;
use serde_json::json;

use crate::commands::open_body;
use crate::http::Api;
use crate::stats::{Latency, Summary};

#[derive(Debug, Serialize)]
pub struct Report {
    pub kind: &'static str,
    pub label: String,
    pub long_events: i64,
    pub fill_seconds: f64,
    pub fill_rate: f64,
    pub samples: usize,
    /// Posting a message (one event) on the long ticket.
    pub long_message: Summary,
    /// Posting a message on a ticket with a handful of events.
    pub new_message: Summary,
    /// Reading the ticket's current state (`GET /v1/tickets/{id}`, loaded from the log).
    pub long_get: Summary,
    pub new_get: Summary,
    pub ratio_p50: f64,
    pub ratio_p99: f64,
}

async fn open(api: &Api, rng: &mut StdRng) -> anyhow::Result<String> {
    let a = api
        .post("/v1/tickets", &api.tokens.admin, &open_body(rng))
        .await?;
    a.str_field("id")
        .ok_or_else(|| anyhow::anyhow!("opening a ticket failed: {}", a.status))
}

async fn message(api: &Api, id: &str, n: usize) -> anyhow::Result<crate::http::Answer> {
    api.post(
        &format!("/v1/tickets/{id}/messages"),
        &api.tokens.agent,
        &json!({"text": format!("reply number {n}: thanks for waiting, we are on it"), "visibility": "public"}),
    )
    .await
}

pub async fn run(
    api: Api,
    events: i64,
    fill_clients: usize,
    samples: usize,
    label: String,
) -> anyhow::Result<Report> {
    let mut rng = StdRng::seed_from_u64(77);
    let long = open(&api, &mut rng).await?;
    // Opening wrote two events (opened + first message); each message adds one.
    let to_add = (events - 2).max(0) as usize;
    eprintln!("  growing ticket {long} to {events} events with {fill_clients} clients …");
    let started = Instant::now();
    let mut handles = Vec::new();
    let per = to_add / fill_clients.max(1);
    for c in 0..fill_clients.max(1) {
        let n = if c == 0 {
            to_add - per * (fill_clients.max(1) - 1)
        } else {
            per
        };
        let api = api.clone();
        let long = long.clone();
        handles.push(tokio::spawn(async move {
            let mut failed = 0u64;
            for i in 0..n {
                match message(&api, &long, i).await {
                    Ok(a) if a.ok() => {}
                    _ => failed += 1,
                }
            }
            failed
        }));
    }
    let mut failed = 0;
    for h in handles {
        failed += h.await?;
    }
    let fill_seconds = started.elapsed().as_secs_f64();
    if failed > 0 {
        eprintln!("  {failed} fill commands failed");
    }
    let got = api
        .get(&format!("/v1/tickets/{long}"), &api.tokens.admin, true)
        .await?;
    let version = got
        .body
        .as_ref()
        .and_then(|b| b.get("version"))
        .and_then(|v| v.as_i64())
        .unwrap_or(0);
    eprintln!("  long ticket at version {version} after {fill_seconds:.1}s");
    let mut long_msg = Latency::new()?;
    let mut new_msg = Latency::new()?;
    let mut long_get = Latency::new()?;
    let mut new_get = Latency::new()?;
    let mut fresh = open(&api, &mut rng).await?;
    for i in 0..samples {
        if i % 4 == 0 {
            // A new ticket every four messages: it stays at 2–6 events.
            fresh = open(&api, &mut rng).await?;
        }
        let a = message(&api, &long, i).await?;
        if a.ok() {
            long_msg.record(a.elapsed);
        }
        let b = message(&api, &fresh, i).await?;
        if b.ok() {
            new_msg.record(b.elapsed);
        }
        let a = api
            .get(&format!("/v1/tickets/{long}"), &api.tokens.admin, false)
            .await?;
        if a.ok() {
            long_get.record(a.elapsed);
        }
        let b = api
            .get(&format!("/v1/tickets/{fresh}"), &api.tokens.admin, false)
            .await?;
        if b.ok() {
            new_get.record(b.elapsed);
        }
    }
    let (l, n) = (long_msg.summary(), new_msg.summary());
    Ok(Report {
        kind: "long_ticket",
        label,
        long_events: version,
        fill_seconds,
        fill_rate: to_add as f64 / fill_seconds.max(1e-9),
        samples,
        ratio_p50: l.p50_ms / n.p50_ms.max(1e-9),
        ratio_p99: l.p99_ms / n.p99_ms.max(1e-9),
        long_message: l,
        new_message: n,
        long_get: long_get.summary(),
        new_get: new_get.summary(),
    })
}
