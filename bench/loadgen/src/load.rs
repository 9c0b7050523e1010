//! `tgcrm-bench load`: write a generated history straight into the database,
//! without HTTP. Postgres: `COPY … FROM STDIN (FORMAT csv)` in chunks, one
//! transaction (so one `transaction_id`) per chunk, pipelined with the
//! generator. SQLite: prepared inserts, one transaction per chunk.

use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use tgcrm_store::Db;
use tgcrm_store::copy_in::copy_in_data;
use tokio::sync::mpsc;

use crate::dataset::{Generator, KeyRow, Output, Row, Spec, Tally};

#[derive(Debug, Serialize)]
pub struct LoadReport {
    pub kind: &'static str,
    pub label: String,
    pub backend: &'static str,
    pub tally: Tally,
    pub seconds: f64,
    pub events_per_second: f64,
}

const EVENT_COLUMNS: &str = "aggregate_type, aggregate_id, sequence, event_type, event_version, payload, metadata, \
     event_id, workspace_id, actor, source, correlation_id, causation_id, request_id, occurred_at, recorded_at";

enum Chunk {
    Rows(Vec<Row>, Vec<KeyRow>),
}

/// Generate on a blocking thread, hand chunks of `chunk` rows to `tx`.
fn generate(spec: Spec, chunk: usize, tx: mpsc::Sender<Chunk>) -> anyhow::Result<Tally> {
    let mut g = Generator::new(spec)?;
    let mut rows = Vec::with_capacity(chunk + 4);
    let mut keys = Vec::new();
    while let Some(Output { rows: r, keys: k }) = g.next_output()? {
        rows.extend(r);
        keys.extend(k);
        if rows.len() >= chunk {
            let full = std::mem::replace(&mut rows, Vec::with_capacity(chunk + 4));
            tx.blocking_send(Chunk::Rows(full, std::mem::take(&mut keys)))
                .map_err(|_| anyhow::anyhow!("the writer stopped"))?;
        }
    }
    if !rows.is_empty() || !keys.is_empty() {
        tx.blocking_send(Chunk::Rows(rows, keys))
            .map_err(|_| anyhow::anyhow!("the writer stopped"))?;
    }
    Ok(g.tally)
}

fn csv_field(out: &mut String, v: Option<&str>) {
    match v {
        None => {}
        Some(s) => {
            out.push('"');
            for c in s.chars() {
                if c == '"' {
                    out.push('"');
                }
                out.push(c);
            }
            out.push('"');
        }
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn events_csv(rows: &[Row], workspace: &str) -> String {
    let mut out = String::with_capacity(rows.len() * 900);
    for r in rows {
        let seq = r.sequence.to_string();
        let occurred = ts(r.occurred_at);
        let recorded = ts(r.recorded_at);
        let fields: [Option<&str>; 16] = [
            Some("ticket"),
            Some(&r.aggregate_id),
            Some(&seq),
            Some(&r.event_type),
            Some(&r.event_version),
            Some(&r.payload),
            Some(&r.metadata),
            Some(&r.event_id),
            Some(workspace),
            Some(&r.actor),
            Some(r.source),
            r.correlation_id.as_deref(),
            None,
            r.request_id.as_deref(),
            Some(&occurred),
            Some(&recorded),
        ];
        for (i, f) in fields.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            csv_field(&mut out, *f);
        }
        out.push('\n');
    }
    out
}

fn keys_csv(keys: &[KeyRow], workspace: &str) -> String {
    let mut out = String::new();
    for k in keys {
        csv_field(&mut out, Some(workspace));
        out.push(',');
        csv_field(&mut out, Some(&k.subject));
        out.push(',');
        csv_field(&mut out, Some(&k.key));
        out.push(',');
        csv_field(&mut out, Some(&ts(k.created_at)));
        let _ = writeln!(out);
    }
    out
}

/// Load the dataset described by `spec` into `url` (migrated first).
pub async fn run(url: &str, spec: Spec, chunk: usize, label: String) -> anyhow::Result<LoadReport> {
    let db = Db::connect(url).await.context("connecting")?;
    db.migrate().await.context("migrating")?;
    let workspace = spec.workspace.to_string();
    let (tx, mut rx) = mpsc::channel::<Chunk>(4);
    let started = Instant::now();
    let producer = tokio::task::spawn_blocking(move || generate(spec, chunk.max(1), tx));
    let backend = match &db {
        Db::Postgres(pool, _) => {
            while let Some(Chunk::Rows(rows, keys)) = rx.recv().await {
                let mut conn = pool.acquire().await?;
                if !keys.is_empty() {
                    copy_in_data(
                        &mut conn,
                        "COPY personal_keys (workspace_id, subject, key, created_at) FROM STDIN WITH (FORMAT csv)",
                        keys_csv(&keys, &workspace).as_bytes(),
                    )
                    .await?;
                }
                copy_in_data(
                    &mut conn,
                    &format!("COPY events ({EVENT_COLUMNS}) FROM STDIN WITH (FORMAT csv)"),
                    events_csv(&rows, &workspace).as_bytes(),
                )
                .await?;
            }
            "postgres"
        }
        Db::Sqlite(pool, _) => {
            let sql = format!(
                "INSERT INTO events ({EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
            );
            while let Some(Chunk::Rows(rows, keys)) = rx.recv().await {
                let mut t = pool.begin().await?;
                for k in &keys {
                    sqlx::query(
                        "INSERT INTO personal_keys (workspace_id, subject, key, created_at) VALUES ($1, $2, $3, $4)",
                    )
                    .bind(&workspace)
                    .bind(&k.subject)
                    .bind(&k.key)
                    .bind(k.created_at)
                    .execute(&mut *t)
                    .await?;
                }
                for r in &rows {
                    sqlx::query(&sql)
                        .bind("ticket")
                        .bind(&r.aggregate_id)
                        .bind(r.sequence)
                        .bind(&r.event_type)
                        .bind(&r.event_version)
                        .bind(&r.payload)
                        .bind(&r.metadata)
                        .bind(&r.event_id)
                        .bind(&workspace)
                        .bind(&r.actor)
                        .bind(r.source)
                        .bind(r.correlation_id.as_deref())
                        .bind(Option::<&str>::None)
                        .bind(r.request_id.as_deref())
                        .bind(r.occurred_at)
                        .bind(r.recorded_at)
                        .execute(&mut *t)
                        .await?;
                }
                t.commit().await?;
            }
            "sqlite"
        }
    };
    let tally = producer.await??;
    if let Db::Postgres(pool, _) = &db {
        sqlx::query("ANALYZE events").execute(pool).await?;
        sqlx::query("ANALYZE personal_keys").execute(pool).await?;
    }
    db.close().await;
    let seconds = started.elapsed().as_secs_f64();
    Ok(LoadReport {
        kind: "load",
        label,
        backend,
        events_per_second: tally.events as f64 / seconds.max(1e-9),
        tally,
        seconds,
    })
}
