//! Direct database helpers for the benchmark script: wait until every
//! projector and reactor has caught up with the log, and time a raw ordered
//! scan of the log (the yardstick for replay speed).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use futures::TryStreamExt;
use serde::Serialize;
use tgcrm_store::Db;

#[derive(sqlx::FromRow)]
struct Head {
    transaction_id: i64,
    position: i64,
}

#[derive(sqlx::FromRow)]
struct Checkpoint {
    name: String,
    transaction_id: i64,
    position: i64,
}

#[derive(sqlx::FromRow)]
struct Count {
    n: i64,
}

/// Wait until every checkpoint (projectors and reactors) has reached the
/// newest event, at most `timeout`. Returns how long it took.
pub async fn wait_caught_up(
    url: &str,
    timeout: Duration,
    min_checkpoints: usize,
) -> anyhow::Result<f64> {
    let db = Db::connect(url).await.context("connecting")?;
    let started = Instant::now();
    let (head_sql, cp_sql) = match &db {
        Db::Postgres(_, _) => (
            "SELECT transaction_id::text::bigint AS transaction_id, position FROM events \
             ORDER BY events.transaction_id DESC, events.position DESC LIMIT 1",
            "SELECT name, transaction_id, position FROM checkpoints \
             WHERE name NOT LIKE 'rebuild-request:%' AND name NOT LIKE 'shadow:%'",
        ),
        Db::Sqlite(_, _) => (
            "SELECT 0 AS transaction_id, position FROM events ORDER BY position DESC LIMIT 1",
            "SELECT name, 0 AS transaction_id, position FROM checkpoints \
             WHERE name NOT LIKE 'rebuild-request:%' AND name NOT LIKE 'shadow:%'",
        ),
    };
    let mut last_report = Instant::now();
    loop {
        let head: Option<Head> = db.fetch_optional(head_sql, vec![]).await?;
        let head = head
            .map(|h| (h.transaction_id, h.position))
            .unwrap_or((0, 0));
        let cps: Vec<Checkpoint> = db.fetch_all(cp_sql, vec![]).await?;
        let behind: Vec<String> = cps
            .iter()
            .filter(|c| (c.transaction_id, c.position) < head)
            .map(|c| format!("{} at {}-{}", c.name, c.transaction_id, c.position))
            .collect();
        if behind.is_empty() && cps.len() >= min_checkpoints {
            db.close().await;
            return Ok(started.elapsed().as_secs_f64());
        }
        if started.elapsed() > timeout {
            bail!(
                "not caught up after {:?} (log head {}-{}): {}",
                timeout,
                head.0,
                head.1,
                behind.join(", ")
            );
        }
        if last_report.elapsed() > Duration::from_secs(15) {
            eprintln!(
                "  waiting for {} of {} checkpoints (head {}-{}): {}",
                behind.len(),
                cps.len(),
                head.0,
                head.1,
                behind.join(", ")
            );
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[derive(Debug, Serialize)]
pub struct ScanReport {
    pub kind: &'static str,
    pub label: String,
    pub events: i64,
    /// Postgres: `COPY (SELECT … ORDER BY transaction_id, position) TO '/dev/null'`
    /// (server side); SQLite: the ordered SELECT read to the end by the client.
    pub seconds: f64,
    pub events_per_second: f64,
    /// Postgres only: the same COPY streamed to this client (`TO STDOUT`).
    pub to_client_seconds: Option<f64>,
    pub statement: String,
}

const COLUMNS: &str = "position, event_id, aggregate_type, aggregate_id, sequence, event_type, event_version, \
     payload, workspace_id, actor, source, correlation_id, causation_id, request_id, occurred_at, recorded_at";

pub async fn raw_scan(url: &str, label: String) -> anyhow::Result<ScanReport> {
    let db = Db::connect(url).await.context("connecting")?;
    let count: Count = db
        .fetch_one("SELECT COUNT(*) AS n FROM events", vec![])
        .await?;
    let report = match &db {
        Db::Postgres(pool, _) => {
            let select = format!(
                "SELECT transaction_id, {COLUMNS} FROM events ORDER BY transaction_id, position"
            );
            let statement = format!("COPY ({select}) TO '/dev/null'");
            // Once to warm the cache as a replay would find it, then timed.
            sqlx::query(&statement).execute(pool).await?;
            let started = Instant::now();
            sqlx::query(&statement).execute(pool).await?;
            let seconds = started.elapsed().as_secs_f64();
            let mut conn = pool.acquire().await?;
            let started = Instant::now();
            let mut stream = conn
                .copy_out_raw(&format!("COPY ({select}) TO STDOUT"))
                .await?;
            let mut bytes = 0usize;
            while let Some(chunk) = stream.try_next().await? {
                bytes += chunk.len();
            }
            drop(stream);
            let to_client = started.elapsed().as_secs_f64();
            eprintln!("  streamed {bytes} bytes to the client in {to_client:.2}s");
            ScanReport {
                kind: "raw_scan",
                label,
                events: count.n,
                seconds,
                events_per_second: count.n as f64 / seconds.max(1e-9),
                to_client_seconds: Some(to_client),
                statement,
            }
        }
        Db::Sqlite(pool, _) => {
            let statement = format!("SELECT {COLUMNS} FROM events ORDER BY position");
            let run = || async {
                let started = Instant::now();
                let mut rows = sqlx::query(&statement).fetch(pool);
                let mut n = 0u64;
                while rows.try_next().await?.is_some() {
                    n += 1;
                }
                anyhow::Ok((started.elapsed().as_secs_f64(), n))
            };
            run().await?;
            let (seconds, _) = run().await?;
            ScanReport {
                kind: "raw_scan",
                label,
                events: count.n,
                seconds,
                events_per_second: count.n as f64 / seconds.max(1e-9),
                to_client_seconds: None,
                statement,
            }
        }
    };
    db.close().await;
    Ok(report)
}
