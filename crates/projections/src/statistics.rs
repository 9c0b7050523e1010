//! Planner statistics of the read models where autovacuum does not keep
//! them. Postgres's autovacuum analyzes a table once about a tenth of it
//! changed; with it off (a tuned or managed server, or this project's CI
//! machine), a table filled since it was created has none, and Postgres
//! then takes a batch's `ticket_id IN (…)` for most of the table and scans
//! all of it: every batch costs more than the one before. The runner asks
//! [`refresh`] every half minute for its own tables.

use tgcrm_store::in_list::placeholders;
use tgcrm_store::{Arg, Backend, Db, SqlError};

#[derive(sqlx::FromRow)]
struct Stale {
    name: String,
}

/// Analyze those of `tables` (in the current schema) that changed by a tenth
/// since last analyzed, when autovacuum is off; returns their names.
pub async fn refresh(db: &Db, tables: &[&str]) -> Result<Vec<String>, SqlError> {
    if db.backend() != Backend::Postgres || tables.is_empty() {
        return Ok(vec![]);
    }
    // The thresholds are autovacuum's defaults.
    let sql = format!(
        "SELECT relname::text AS name FROM pg_stat_user_tables \
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
            db.execute(&format!("ANALYZE {}", t.name), vec![]).await?;
            analyzed.push(t.name);
        }
    }
    Ok(analyzed)
}
