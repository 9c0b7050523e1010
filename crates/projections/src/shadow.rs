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

use tgcrm_domain::Clock;
use tgcrm_store::{Backend, Db, Position, Tx, checkpoints};

use crate::projector::Projector;

/// Events per transaction while rebuilding.
const BATCH: i64 = 2_000;

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
    let name = projector.name();
    if db.backend() == Backend::Sqlite {
        // In place (SQLite serves one process): drop and recreate the tables
        // with the checkpoint back at the start, then apply batch by batch,
        // each batch with its checkpoint. The pool has one connection, so
        // events are read between transactions, never inside one; a crash
        // part-way resumes from the last batch.
        let mut tx = db.begin().await?;
        for table in projector.tables() {
            tx.execute(&format!("DROP TABLE IF EXISTS {table}"), vec![])
                .await?;
        }
        for stmt in projector.schema(db.backend()) {
            tx.execute(&stmt, vec![]).await?;
        }
        checkpoints::save_in(
            &mut tx,
            name,
            projector.version(),
            Position::START,
            clock.now(),
        )
        .await?;
        tx.commit().await?;
        let mut position = Position::START;
        let mut total = 0u64;
        while let Some((last, n)) =
            crate::runner::apply_batch(db, projector, position, BATCH, clock.now()).await?
        {
            total += n as u64;
            progress(n as u64);
            position = last;
        }
        checkpoints::delete(db, &request_name(name)).await?;
        for table in projector.tables() {
            db.execute(&format!("ANALYZE {table}"), vec![]).await?;
        }
        return Ok((position, total));
    }
    let schema = schema_of(projector);
    db.execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"), vec![])
        .await?;
    db.execute(&format!("CREATE SCHEMA {schema}"), vec![])
        .await?;
    let mut tx = shadow_tx(db, &schema).await?;
    for stmt in projector.schema(db.backend()) {
        tx.execute(&stmt, vec![]).await?;
    }
    tx.commit().await?;
    // Build in batches, each its own transaction, while the API reads the old tables.
    let mut position = Position::START;
    let mut total = 0u64;
    while let Some((events, last)) =
        crate::runner::next_batch(db, projector, position, BATCH).await?
    {
        let mut tx = shadow_tx(db, &schema).await?;
        projector.apply_batch(&mut tx, &events).await?;
        checkpoints::save_in(
            &mut tx,
            &progress_name(name),
            projector.version(),
            last,
            clock.now(),
        )
        .await?;
        tx.commit().await?;
        total += events.len() as u64;
        progress(events.len() as u64);
        position = last;
    }
    // Fresh tables have no planner statistics until autovacuum gets to them;
    // without them a filtered list can pick a plan a hundred times slower.
    for table in projector.tables() {
        db.execute(&format!("ANALYZE {schema}.{table}"), vec![])
            .await?;
    }
    // Swap: catch up the last events, then move the new tables into place.
    let mut tx = shadow_tx(db, &schema).await?;
    let (last, n) = drain_into(db, &mut tx, projector, position, &mut progress).await?;
    total += n;
    for table in projector.tables() {
        tx.execute(&format!("DROP TABLE IF EXISTS public.{table}"), vec![])
            .await?;
        tx.execute(
            &format!("ALTER TABLE {schema}.{table} SET SCHEMA public"),
            vec![],
        )
        .await?;
    }
    checkpoints::save_in(&mut tx, name, projector.version(), last, clock.now()).await?;
    tx.execute(&format!("DROP SCHEMA {schema} CASCADE"), vec![])
        .await?;
    tx.execute(
        "DELETE FROM checkpoints WHERE name = $1 OR name = $2",
        tgcrm_store::args![request_name(name), progress_name(name)],
    )
    .await?;
    tx.commit().await?;
    Ok((last, total))
}
