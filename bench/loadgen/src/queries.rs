//! `tgcrm-bench queries`: read-side latency on a large dataset. Each query is
//! asked `--iterations` times by one client over a keep-alive connection
//! (no queueing: what is timed is the server's work plus the loopback round
//! trip, which `/healthz` measures on its own). Endpoints the server does not
//! have (404) are reported as missing, not failed.

use std::time::Duration;

use chrono::Utc;
use serde::Serialize;

use crate::http::Api;
use crate::stats::{Latency, Summary};

#[derive(Debug, Serialize)]
pub struct QueryResult {
    pub name: String,
    pub path: String,
    /// `ok`, `missing` (404 or 405: the endpoint does not exist yet) or `error <status>`.
    pub outcome: String,
    pub latency: Option<Summary>,
    pub items_first_page: Option<usize>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub kind: &'static str,
    pub label: String,
    pub iterations: usize,
    pub results: Vec<QueryResult>,
}

async fn measure(
    api: &Api,
    name: &str,
    path: &str,
    iterations: usize,
) -> anyhow::Result<QueryResult> {
    let first = api.get(path, &api.tokens.admin, true).await?;
    if first.status.as_u16() == 404 || first.status.as_u16() == 405 {
        return Ok(QueryResult {
            name: name.to_owned(),
            path: path.to_owned(),
            outcome: "missing".into(),
            latency: None,
            items_first_page: None,
        });
    }
    if !first.ok() {
        return Ok(QueryResult {
            name: name.to_owned(),
            path: path.to_owned(),
            outcome: format!("error {}", first.status.as_u16()),
            latency: None,
            items_first_page: None,
        });
    }
    let items = first
        .body
        .as_ref()
        .and_then(|b| b.get("items"))
        .and_then(|i| i.as_array())
        .map(Vec::len);
    // Warm up (plans, caches), then measure.
    for _ in 0..iterations.min(20) {
        api.get(path, &api.tokens.admin, false).await?;
    }
    let mut lat = Latency::new()?;
    let mut failures = 0;
    for _ in 0..iterations {
        let a = api.get(path, &api.tokens.admin, false).await?;
        if a.ok() {
            lat.record(a.elapsed);
        } else {
            failures += 1;
        }
    }
    Ok(QueryResult {
        name: name.to_owned(),
        path: path.to_owned(),
        outcome: if failures == 0 {
            "ok".into()
        } else {
            format!("ok ({failures} failed)")
        },
        latency: Some(lat.summary()),
        items_first_page: items,
    })
}

/// A value from the first item of a list page (an assignee, a cursor).
async fn first_of(api: &Api, path: &str, field: &str) -> Option<String> {
    let a = api.get(path, &api.tokens.admin, true).await.ok()?;
    let body = a.body?;
    if field == "next_cursor" {
        return body.get("next_cursor")?.as_str().map(str::to_owned);
    }
    body.get("items")?
        .as_array()?
        .iter()
        .find_map(|i| i.get(field)?.as_str().map(str::to_owned))
}

pub async fn run(api: Api, iterations: usize, label: String) -> anyhow::Result<Report> {
    let now = Utc::now();
    let month_ago =
        (now - chrono::Duration::days(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let two_months_ago =
        (now - chrono::Duration::days(60)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let now_s = now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut plan: Vec<(String, String)> = vec![
        ("healthz (transport baseline)".into(), "/healthz".into()),
        (
            "ticket list, first page".into(),
            "/v1/tickets?limit=50".into(),
        ),
        (
            "ticket list, status=open".into(),
            "/v1/tickets?status=open&limit=50".into(),
        ),
        (
            "ticket list, status=open&priority=urgent".into(),
            "/v1/tickets?status=open&priority=urgent&limit=50".into(),
        ),
        (
            "ticket list, tag=vip".into(),
            "/v1/tickets?tag=vip&limit=50".into(),
        ),
        (
            "ticket list, created in a month (30–60 days ago)".into(),
            format!(
                "/v1/tickets?created_after={two_months_ago}&created_before={month_ago}&limit=50"
            ),
        ),
    ];
    if let Some(agent) = first_of(
        &api,
        "/v1/tickets?status=in_progress&limit=5",
        "assignee_agent_id",
    )
    .await
    {
        plan.push((
            "ticket list, assignee=<agent>".into(),
            format!("/v1/tickets?assignee={agent}&limit=50"),
        ));
    }
    if let Some(cursor) = first_of(&api, "/v1/tickets?status=open&limit=50", "next_cursor").await {
        plan.push((
            "ticket list, status=open, second page (cursor)".into(),
            format!("/v1/tickets?status=open&limit=50&cursor={cursor}"),
        ));
    }
    plan.extend([
        (
            "queue page (all)".to_owned(),
            "/v1/queues/all?limit=50".to_owned(),
        ),
        (
            "SLA breaches".to_owned(),
            "/v1/sla/breaches?limit=50".to_owned(),
        ),
        (
            "metrics: first response, a month by day".to_owned(),
            format!("/v1/metrics/first-response?from={month_ago}&to={now_s}&group_by=day"),
        ),
        (
            "metrics: resolution, a month by day".to_owned(),
            format!("/v1/metrics/resolution?from={month_ago}&to={now_s}&group_by=day"),
        ),
        (
            "metrics: SLA, a month by agent".to_owned(),
            format!("/v1/metrics/sla?from={month_ago}&to={now_s}&group_by=agent"),
        ),
    ]);
    let mut results = Vec::new();
    for (name, path) in plan {
        let path = path.replace('+', "%2B");
        let r = measure(&api, &name, &path, iterations).await?;
        eprintln!(
            "  {name}: {} {}",
            r.outcome,
            r.latency.map(|l| l.to_string()).unwrap_or_default()
        );
        results.push(r);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(Report {
        kind: "queries",
        label,
        iterations,
        results,
    })
}
