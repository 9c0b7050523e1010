//! `/metrics`: what an operator scrapes. The recorder is one per process, so
//! these checks look for series by name and labels, not for exact counts.

use std::time::Duration;

use reqwest::Method;

use crate::both;
use crate::helpers::TestApp;

async fn scrape(app: &TestApp) -> String {
    let a = app.send(app.request(Method::GET, "/metrics", None)).await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert!(
        a.header("content-type")
            .is_some_and(|c| c.starts_with("text/plain")),
        "Prometheus text format"
    );
    a.text
}

/// Scrape until every series in `wanted` is there (gauges are sampled every few seconds).
async fn scrape_until(app: &TestApp, wanted: &[&str]) -> String {
    let mut text = String::new();
    for _ in 0..100 {
        text = scrape(app).await;
        if wanted.iter().all(|w| text.contains(w)) {
            return text;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let missing: Vec<_> = wanted.iter().filter(|w| !text.contains(**w)).collect();
    panic!("/metrics never showed {missing:?}:\n{text}");
}

both!(
    metrics_cover_requests_commands_projector_lag_and_reactor_backlog,
    |app: TestApp| async move {
        let (agent, _) = app.agent().await;
        let id = app.open_ticket_with_subject(&agent, "Metered").await;
        app.get(&format!("/v1/tickets/{id}"), &agent)
            .await
            .expect(200);
        let text = scrape_until(
            &app,
            &[
                // HTTP by route pattern (never the raw path) and status.
                "http_requests_total{method=\"GET\",route=\"/v1/tickets/{id}\",status=\"200\"}",
                "http_request_duration_seconds",
                // Commands by type and outcome.
                "commands_total{type=\"open_ticket\",outcome=\"accepted\"}",
                // Sampled from the checkpoints: projector lag and reactor backlog.
                "projector_lag_events{projector=\"ticket_list\"}",
                "projector_lag_seconds{projector=\"ticket_list\"}",
                "reactor_backlog_events{reactor=\"assignment\"}",
                "reactor_backlog_seconds{reactor=\"assignment\"}",
                "webhook_deliveries_pending",
            ],
        )
        .await;
        assert!(
            !text.contains(&id),
            "no ticket id (an unbounded label) in any series"
        );
    }
);

/// A request that cannot answer in time gets a 503 problem, not a hung connection.
async fn a_slow_request_is_cut_off_with_a_problem(app: TestApp) {
    let (agent, _) = app.agent().await;
    // Someone holds the ticket list (SQLite: the one connection) in a long transaction.
    let mut blocker = app.db.begin().await.unwrap();
    if app.backend == crate::helpers::Backend::Postgres {
        blocker
            .execute("LOCK TABLE rm_tickets IN ACCESS EXCLUSIVE MODE", vec![])
            .await
            .unwrap();
    }
    let started = std::time::Instant::now();
    let a = app.get("/v1/tickets", &agent).await;
    drop(blocker);
    a.expect_problem(503);
    assert!(
        a.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("took longer than 1 s")),
        "{}",
        a.text
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

mod a_slow_request_times_out {
    use super::*;
    use crate::helpers::{Backend, run_with};

    fn config() -> tgcrm_api::ApiConfig {
        tgcrm_api::ApiConfig {
            request_timeout: Duration::from_secs(1),
            consistency_timeout: Duration::from_secs(20),
            ..Default::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        run_with(
            Backend::Postgres,
            config(),
            a_slow_request_is_cut_off_with_a_problem,
        )
        .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        run_with(
            Backend::Sqlite,
            config(),
            a_slow_request_is_cut_off_with_a_problem,
        )
        .await;
    }
}
