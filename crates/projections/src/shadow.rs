//! Rebuilding a projection without taking its tables away. On Postgres the
//! new tables are built in a schema of their own (`shadow_<projector>`, with
//! `search_path` pointing there, so the projector's SQL is unchanged) while
//! the API keeps reading the old ones; once caught up, the old tables are
//! dropped and the new ones moved into place in one transaction, with the
//! checkpoint. SQLite has no schemas: there the rebuild happens in place.
//!
//! A rebuild is asked for with a row `rebuild-request:<projector>` in the
//! checkpoints table, so `crm replay` can ask a running server's runner to
//! do it; progress is kept as `shadow:<projector>`.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};

use tgcrm_domain::Clock;
use tgcrm_store::{Backend, Db, Position, Tx, checkpoints};

use crate::projector::Projector;
use crate::statistics::Sample;

/// Events per transaction while rebuilding. Each batch costs a few
/// statements per table whatever its size, so fewer, larger batches replay
/// faster: 1.23M events took 59.5 s in batches of 2,000 and 51.1 s in
/// batches of 5,000 on Postgres; 10,000 was no faster and held half again
/// as much memory (`crm replay` peaked at 281 MB with 5,000, 413 MB with
/// 10,000).
pub(crate) const BATCH: i64 = 5_000;

pub fn request_name(projector: &str) -> String {
    format!("rebuild-request:{projector}")
}

pub fn progress_name(projector: &str) -> String {
    format!("shadow:{projector}")
}

/// Ask whoever runs `projector` to rebuild it.
pub async fn request(db: &Db, projector: &str, clock: &dyn Clock) -> anyhow::Result<()> {
    checkpoints::save(
        db,
        &request_name(projector),
        0,
        Position::START,
        clock.now(),
    )
    .await?;
    Ok(())
}

pub async fn is_requested(db: &Db, projector: &str) -> anyhow::Result<bool> {
    Ok(checkpoints::load(db, &request_name(projector))
        .await?
        .is_some())
}

/// The projectors a rebuild is asked of, in one statement.
pub async fn requested(db: &Db) -> anyhow::Result<std::collections::HashSet<String>> {
    #[derive(sqlx::FromRow)]
    struct Name {
        name: String,
    }
    let prefix = request_name("");
    let rows: Vec<Name> = db
        .fetch_all(
            "SELECT name FROM checkpoints WHERE name LIKE $1",
            tgcrm_store::args![format!("{prefix}%")],
        )
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| r.name.strip_prefix(&prefix).map(str::to_owned))
        .collect())
}

/// The name a `CREATE [UNIQUE] INDEX IF NOT EXISTS <name> ON …` statement gives.
pub fn index_name(stmt: &str) -> Option<&str> {
    let stmt = stmt.trim_start();
    let rest = stmt
        .strip_prefix("CREATE INDEX IF NOT EXISTS ")
        .or_else(|| stmt.strip_prefix("CREATE UNIQUE INDEX IF NOT EXISTS "))?;
    rest.split_whitespace().next()
}

/// The projector's schema as a rebuild runs it: what to create before the
/// first batch, and its query indexes (see [`Projector::query_indexes`]),
/// created once the tables are filled.
fn schema_split(projector: &dyn Projector, backend: Backend) -> (Vec<String>, Vec<String>) {
    let later = projector.query_indexes();
    projector
        .schema(backend)
        .into_iter()
        .partition(|stmt| !index_name(stmt).is_some_and(|name| later.contains(&name)))
}

/// Create the query indexes a rebuild left for last.
async fn create_query_indexes(
    tx: &mut Tx,
    projector: &dyn Projector,
    backend: Backend,
) -> anyhow::Result<()> {
    for stmt in schema_split(projector, backend).1 {
        tx.execute(&stmt, vec![]).await?;
    }
    Ok(())
}

fn schema_of(projector: &dyn Projector) -> String {
    format!("shadow_{}", projector.name())
}

async fn shadow_tx(db: &Db, schema: &str) -> anyhow::Result<Tx> {
    let mut tx = db.begin().await?;
    tx.execute(
        &format!("SET LOCAL search_path TO {schema}, public"),
        vec![],
    )
    .await?;
    Ok(tx)
}

/// Analyze the projector's tables in `schema`.
async fn analyze(
    db: &Db,
    schema: &str,
    projector: &dyn Projector,
    sample: Sample,
) -> anyhow::Result<()> {
    let mut tx = db.begin().await?;
    for table in projector.tables() {
        crate::statistics::analyze(&mut tx, &format!("{schema}.{table}"), sample).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Apply events after `from` inside `tx` until the log is exhausted.
async fn drain_into(
    db: &Db,
    tx: &mut Tx,
    projector: &dyn Projector,
    mut from: Position,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<(Position, u64)> {
    let mut n = 0u64;
    while let Some((events, last)) = crate::runner::next_batch(db, projector, from, BATCH).await? {
        projector.apply_batch(tx, &events).await?;
        n += events.len() as u64;
        progress(events.len() as u64);
        from = last;
    }
    Ok((from, n))
}

/// Rebuild `projector` from the start of the log; returns the position it
/// reached and how many events it applied. The caller holds the projector's lock.
pub async fn rebuild(
    db: &Db,
    projector: &dyn Projector,
    clock: &dyn Clock,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<(Position, u64)> {
    let build = Build::begin(db, projector, clock).await?;
    let (position, total) = build
        .apply_to_end(db, Position::START, clock, &mut progress)
        .await?;
    let (last, n) = build.finish(db, position, clock, &mut progress).await?;
    Ok((last, total + n))
}

/// A rebuild under way: the projector's new tables, empty at first, filled
/// batch by batch with [`Build::apply`], put in place by [`Build::finish`].
/// The caller holds the projector's lock throughout. `P` is how the
/// projector is held: borrowed, or shared (`Arc`) to move into a task.
pub struct Build<P> {
    projector: P,
    /// The schema the new tables are built in (Postgres); `None` when they
    /// are rebuilt in place (SQLite has no schemas, and serves one process).
    schema: Option<String>,
    /// Batches applied so far.
    batches: AtomicU64,
}

impl<'p, P: Deref<Target = dyn Projector + 'p>> Build<P> {
    /// Create the projector's new, empty tables (their query indexes come
    /// with [`Build::finish`]).
    pub async fn begin(db: &Db, projector: P, clock: &dyn Clock) -> anyhow::Result<Build<P>> {
        let (statements, _) = schema_split(&*projector, db.backend());
        if db.backend() == Backend::Sqlite {
            // In place: drop and recreate the tables with the checkpoint
            // back at the start; each batch then commits with its
            // checkpoint, so a crash part-way resumes from the last batch.
            let mut tx = db.begin().await?;
            for table in projector.tables() {
                tx.execute(&format!("DROP TABLE IF EXISTS {table}"), vec![])
                    .await?;
            }
            // A crash before `finish` leaves the query indexes to the
            // runner's start, which creates whatever the schema lacks.
            for stmt in &statements {
                tx.execute(stmt, vec![]).await?;
            }
            checkpoints::save_in(
                &mut tx,
                projector.name(),
                projector.version(),
                Position::START,
                clock.now(),
            )
            .await?;
            tx.commit().await?;
            return Ok(Build {
                projector,
                schema: None,
                batches: AtomicU64::new(0),
            });
        }
        let shadow = schema_of(&*projector);
        db.execute(&format!("DROP SCHEMA IF EXISTS {shadow} CASCADE"), vec![])
            .await?;
        db.execute(&format!("CREATE SCHEMA {shadow}"), vec![])
            .await?;
        let mut tx = shadow_tx(db, &shadow).await?;
        for stmt in &statements {
            tx.execute(stmt, vec![]).await?;
        }
        tx.commit().await?;
        Ok(Build {
            projector,
            schema: Some(shadow),
            batches: AtomicU64::new(0),
        })
    }

    pub fn projector(&self) -> &(dyn Projector + 'p) {
        &*self.projector
    }

    /// Apply `events` (those the projector reads, in log order) and move its
    /// rebuild's checkpoint to `last`, in one transaction. On Postgres the
    /// API keeps reading the old tables meanwhile.
    pub async fn apply(
        &self,
        db: &Db,
        events: &[tgcrm_store::StoredEvent],
        last: Position,
        now: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<()> {
        let p = &*self.projector;
        let (mut tx, checkpoint) = match &self.schema {
            Some(schema) => (shadow_tx(db, schema).await?, progress_name(p.name())),
            None => (db.begin().await?, p.name().to_owned()),
        };
        if !events.is_empty() {
            p.apply_batch(&mut tx, events).await?;
        }
        checkpoints::save_in(&mut tx, &checkpoint, p.version(), last, now).await?;
        tx.commit().await?;
        // New tables have no planner statistics, and autovacuum (when it
        // runs at all) analyzes them late: without them Postgres takes a
        // batch's `ticket_id IN (…256 keys…)` for most of the table and
        // scans all of it, so each batch costs more than the last. Analyze
        // whenever the number of batches doubles: statistics stay within a
        // factor of two of the table at a logarithmic cost.
        let n = self.batches.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(schema) = &self.schema
            && n.is_power_of_two()
        {
            analyze(db, schema, p, Sample::Rough).await?;
        }
        Ok(())
    }

    /// Apply batch by batch (each its own transaction) from `from` until the
    /// log holds nothing more the projector reads; returns the position
    /// reached and how many events were applied.
    async fn apply_to_end(
        &self,
        db: &Db,
        from: Position,
        clock: &dyn Clock,
        mut progress: impl FnMut(u64),
    ) -> anyhow::Result<(Position, u64)> {
        let mut position = from;
        let mut total = 0u64;
        while let Some((events, last)) =
            crate::runner::next_batch(db, &*self.projector, position, BATCH).await?
        {
            self.apply(db, &events, last, clock.now()).await?;
            total += events.len() as u64;
            progress(events.len() as u64);
            position = last;
        }
        Ok((position, total))
    }

    /// Catch up from `position` to the end of the log and put the new
    /// tables in place of the old ones, with the projector's checkpoint, in
    /// one transaction (Postgres); returns the position reached and how many
    /// more events were applied.
    pub async fn finish(
        self,
        db: &Db,
        position: Position,
        clock: &dyn Clock,
        mut progress: impl FnMut(u64),
    ) -> anyhow::Result<(Position, u64)> {
        let p = &*self.projector;
        let name = p.name();
        let Some(schema) = self.schema.clone() else {
            let (position, total) = self.apply_to_end(db, position, clock, progress).await?;
            let mut tx = db.begin().await?;
            create_query_indexes(&mut tx, p, db.backend()).await?;
            tx.commit().await?;
            checkpoints::delete(db, &request_name(name)).await?;
            for table in p.tables() {
                db.execute(&format!("ANALYZE {table}"), vec![]).await?;
            }
            return Ok((position, total));
        };
        let mut tx = shadow_tx(db, &schema).await?;
        create_query_indexes(&mut tx, p, db.backend()).await?;
        tx.commit().await?;
        // Statistics of the finished tables: without them a filtered list
        // can pick a plan a hundred times slower.
        analyze(db, &schema, p, Sample::Full).await?;
        // Swap: catch up the last events, then move the new tables into place.
        let mut tx = shadow_tx(db, &schema).await?;
        let (last, n) = drain_into(db, &mut tx, p, position, &mut progress).await?;
        for table in p.tables() {
            tx.execute(&format!("DROP TABLE IF EXISTS public.{table}"), vec![])
                .await?;
            tx.execute(
                &format!("ALTER TABLE {schema}.{table} SET SCHEMA public"),
                vec![],
            )
            .await?;
        }
        checkpoints::save_in(&mut tx, name, p.version(), last, clock.now()).await?;
        tx.execute(&format!("DROP SCHEMA {schema} CASCADE"), vec![])
            .await?;
        tx.execute(
            "DELETE FROM checkpoints WHERE name = $1 OR name = $2",
            tgcrm_store::args![request_name(name), progress_name(name)],
        )
        .await?;
        tx.commit().await?;
        Ok((last, n))
    }
}
