//! Planner statistics of the read models where autovacuum does not keep
//! them. Postgres's autovacuum analyzes a table once about a tenth of it
//! changed; with it off (a tuned or managed server, or this project's CI
//! machine), a table filled since it was created has none, and Postgres
//! then takes a batch's `ticket_id IN (…)` for most of the table and scans
//! all of it: every batch costs more than the one before. The runner asks
//! [`refresh`] every half minute for its own tables.
//!
//! A table's first statistics are a [`Sample::Full`] one, for the API's
//! filtered lists; later ones are [`Sample::Rough`]: under load every
//! read-model table changes by a tenth within minutes, and a full sample of
//! each (30,000 rows, 20–500 ms apiece) every half minute was the tail of
//! the projection lag (bench/ANALYSIS.md, item 52). Once a table has
//! statistics the planner scales them with its size; what a refresh must
//! keep current is the spread of its values, which 3,000 rows give.

use tgcrm_store::in_list::placeholders;
use tgcrm_store::{Arg, Backend, Db, SqlError, Tx};

/// How closely [`analyze`] samples a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sample {
    /// Postgres's default (`default_statistics_target`, 30,000 rows at
    /// 100): for tables the API's queries plan with.
    Full,
    /// A tenth of that at most (the target is 10, or the server's own if
    /// lower): a batch's lookups by key need only the table's size and its
    /// keys' spread, and a list's filters the share of each common value.
    Rough,
}

/// Analyze `table` (a name of ours, possibly schema-qualified) in `tx`, on
/// Postgres. Columns given their own target (`ALTER TABLE … SET
/// STATISTICS`) keep it.
pub async fn analyze(tx: &mut Tx, table: &str, sample: Sample) -> Result<(), SqlError> {
    if sample == Sample::Rough {
        tx.execute(
            "SELECT set_config('default_statistics_target', \
             LEAST(current_setting('default_statistics_target')::int, 10)::text, true)",
            vec![],
        )
        .await?;
    }
    tx.execute(&format!("ANALYZE {table}"), vec![]).await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct Stale {
    name: String,
    analyzed_before: bool,
}

/// Analyze those of `tables` (in the current schema) that changed by a tenth
/// since last analyzed, when autovacuum is off; returns their names.
pub async fn refresh(db: &Db, tables: &[&str]) -> Result<Vec<String>, SqlError> {
    if db.backend() != Backend::Postgres || tables.is_empty() {
        return Ok(vec![]);
    }
    // The thresholds are autovacuum's defaults.
    let sql = format!(
        "SELECT relname::text AS name, \
         (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL) AS analyzed_before \
         FROM pg_stat_user_tables \
         WHERE current_setting('autovacuum') = 'off' AND schemaname = current_schema() \
         AND relname IN ({}) AND n_mod_since_analyze > 50 + 0.1 * n_live_tup",
        placeholders(1, tables.len())
    );
    let args: Vec<Arg> = tables.iter().map(|t| Arg::from(*t)).collect();
    let stale: Vec<Stale> = db.fetch_all(&sql, args).await?;
    let mut analyzed = Vec::new();
    for t in stale {
        // Only names of the projector's own tables come back.
        if tables.contains(&t.name.as_str()) {
            let sample = if t.analyzed_before {
                Sample::Rough
            } else {
                Sample::Full
            };
            let mut tx = db.begin().await?;
            analyze(&mut tx, &t.name, sample).await?;
            tx.commit().await?;
            analyzed.push(t.name);
        }
    }
    Ok(analyzed)
}
