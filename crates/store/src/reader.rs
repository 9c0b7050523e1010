//! The ordered global reader: hands out events in the one order every
//! projector and reactor sees, and never skips one.
//!
//! On Postgres a position is drawn before its transaction commits, so a reader
//! that only asks for `position > last` would skip an event whose transaction
//! commits after a later one. This reader orders by (committing transaction,
//! position) and hands out only events of transactions older than the oldest
//! transaction still running (`pg_snapshot_xmin(pg_current_snapshot())`): every
//! such transaction has ended, so nothing can later appear before the
//! checkpoint. On SQLite the single writer makes rowid order commit order.

use crate::db::{Arg, Backend, Db, SqlError};
use crate::event::{EventRow, StoredEvent, event_columns};
use crate::position::Position;

/// Which events to read. Empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub workspace_id: Option<String>,
    pub event_types: Vec<String>,
    pub aggregate_type: Option<String>,
    /// Any of these aggregate types (a projector's `reads`).
    pub aggregate_types: Vec<String>,
    pub aggregate_id: Option<String>,
    /// Leave personal fields sealed: the reader needs none of them (a
    /// reactor deciding on priorities and assignments), so it neither reads
    /// the subjects' keys nor holds their data in the clear.
    pub sealed: bool,
}

impl EventFilter {
    /// Whether it leaves any event out.
    pub fn is_filtered(&self) -> bool {
        self.workspace_id.is_some()
            || !self.event_types.is_empty()
            || self.aggregate_type.is_some()
            || !self.aggregate_types.is_empty()
            || self.aggregate_id.is_some()
    }
}

/// Which filter terms the database may answer from an index. A subscriber
/// reads a short run after its checkpoint, so the plan is the walk of the
/// global order from the checkpoint (the rowid range on SQLite,
/// `events_global_order` on Postgres), unless the filter names one stream
/// (the primary key) or one workspace (`events_workspace_order`). The other
/// terms are hidden from the planner: an equality on `aggregate_type`
/// matches the first column of the primary key, and a planner that guesses
/// it narrow reads every event of that type in the log and sorts them, on
/// every poll of every subscriber. SQLite, which keeps no statistics, always
/// guesses so (seconds per read at a million tickets); Postgres does on a
/// table it has not analyzed yet (autovacuum off, or a young log): 4.7 ms
/// instead of 0.4 ms per read at 28k events.
struct IndexPlan {
    backend: Backend,
    workspace: bool,
    aggregate: bool,
}

impl IndexPlan {
    fn of(backend: Backend, filter: &EventFilter) -> Self {
        let one_stream = filter.aggregate_id.is_some() && filter.aggregate_type.is_some();
        Self {
            backend,
            workspace: !one_stream,
            aggregate: one_stream,
        }
    }

    /// `column` as the filter writes it: itself where an index may answer
    /// the term, else an expression no index matches with the same value
    /// (SQLite's no-op unary plus; on Postgres a text concatenation).
    fn term(&self, column: &str, indexable: bool) -> String {
        match (indexable, self.backend) {
            (true, _) => column.to_owned(),
            (false, Backend::Sqlite) => format!("+{column}"),
            (false, Backend::Postgres) => format!("({column} || '')"),
        }
    }
}

/// The `SELECT` of [`read_after`] and its arguments (public for the tests
/// that ask each database how it would run it).
pub fn read_statement(
    backend: Backend,
    after: Position,
    limit: i64,
    filter: &EventFilter,
) -> (String, Vec<Arg>) {
    let mut args: Vec<Arg> = Vec::new();
    let mut sql = format!("SELECT {} FROM events WHERE ", event_columns(backend));
    match backend {
        Backend::Postgres => {
            args.push(after.transaction_id.into());
            args.push(after.position.into());
            sql.push_str(
                "(transaction_id, position) > (($1::bigint)::text::xid8, $2) \
                 AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())",
            );
        }
        Backend::Sqlite => {
            args.push(after.position.into());
            sql.push_str("position > $1");
        }
    }
    let plan = IndexPlan::of(backend, filter);
    if let Some(ws) = &filter.workspace_id {
        args.push(ws.clone().into());
        sql.push_str(&format!(
            " AND {} = ${}",
            plan.term("workspace_id", plan.workspace),
            args.len()
        ));
    }
    if let Some(t) = &filter.aggregate_type {
        args.push(t.clone().into());
        sql.push_str(&format!(
            " AND {} = ${}",
            plan.term("aggregate_type", plan.aggregate),
            args.len()
        ));
    }
    if !filter.aggregate_types.is_empty() {
        let mut placeholders = Vec::new();
        for t in &filter.aggregate_types {
            args.push(t.clone().into());
            placeholders.push(format!("${}", args.len()));
        }
        sql.push_str(&format!(
            " AND {} IN ({})",
            plan.term("aggregate_type", plan.aggregate),
            placeholders.join(", ")
        ));
    }
    if let Some(id) = &filter.aggregate_id {
        args.push(id.clone().into());
        sql.push_str(&format!(" AND aggregate_id = ${}", args.len()));
    }
    if !filter.event_types.is_empty() {
        let mut placeholders = Vec::new();
        for t in &filter.event_types {
            args.push(t.clone().into());
            placeholders.push(format!("${}", args.len()));
        }
        sql.push_str(&format!(
            " AND {} IN ({})",
            plan.term("event_type", false),
            placeholders.join(", ")
        ));
    }
    args.push(limit.into());
    match backend {
        Backend::Postgres => sql.push_str(&format!(
            // Qualified: a bare `transaction_id` would name the select
            // list's bigint cast, which no index orders, and every read
            // would sort the rest of the log.
            " ORDER BY events.transaction_id, events.position LIMIT ${}",
            args.len()
        )),
        Backend::Sqlite => sql.push_str(&format!(" ORDER BY position LIMIT ${}", args.len())),
    }
    (sql, args)
}

/// Up to `limit` events after `after`, in global order.
pub async fn read_after(
    db: &Db,
    after: Position,
    limit: i64,
    filter: &EventFilter,
) -> Result<Vec<StoredEvent>, SqlError> {
    let (sql, args) = read_statement(db.backend(), after, limit, filter);
    let rows: Vec<EventRow> = db.fetch_all(&sql, args).await?;
    let mut events: Vec<StoredEvent> = rows.into_iter().map(StoredEvent::from).collect();
    if !filter.sealed {
        crate::personal::reveal_events(db, &mut events).await?;
    }
    Ok(events)
}

#[derive(sqlx::FromRow)]
struct PartRow {
    part: i64,
    #[sqlx(flatten)]
    row: EventRow,
}

/// [`read_after`] for a subscriber that reads only some events, with how far
/// it may move: past its last event, or, when fewer than `limit` came back,
/// up to the newest event the same statement could see. Reading that head in
/// the same statement (same snapshot) is what makes passing the events in
/// between safe; a second query could see a commit the read did not.
pub async fn read_reaching(
    db: &Db,
    after: Position,
    limit: i64,
    filter: &EventFilter,
) -> Result<(Vec<StoredEvent>, Position), SqlError> {
    let backend = db.backend();
    let (events_sql, args) = read_statement(backend, after, limit, filter);
    let head_sql = match backend {
        Backend::Postgres => format!(
            "SELECT {} FROM events WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
             ORDER BY events.transaction_id DESC, events.position DESC LIMIT 1",
            event_columns(backend)
        ),
        Backend::Sqlite => format!(
            "SELECT {} FROM events ORDER BY position DESC LIMIT 1",
            event_columns(backend)
        ),
    };
    let sql = format!(
        "SELECT CAST(0 AS BIGINT) AS part, r.* FROM ({events_sql}) AS r \
         UNION ALL SELECT CAST(1 AS BIGINT) AS part, h.* FROM ({head_sql}) AS h \
         ORDER BY part, transaction_id, position"
    );
    let rows: Vec<PartRow> = db.fetch_all(&sql, args).await?;
    let mut head = None;
    let mut events = Vec::with_capacity(rows.len());
    for r in rows {
        if r.part == 0 {
            events.push(StoredEvent::from(r.row));
        } else {
            head = Some(Position::new(r.row.transaction_id, r.row.position));
        }
    }
    let mut reached = events.last().map_or(after, |e| e.position);
    if let Some(h) = head
        && (events.len() as i64) < limit
        && h > reached
    {
        reached = h;
    }
    if !filter.sealed {
        crate::personal::reveal_events(db, &mut events).await?;
    }
    Ok((events, reached))
}

/// Up to `limit` events after `after` that `filter` lets through, and the
/// position a subscriber may move to having handled them: [`read_reaching`]'s
/// for a filtered read, the last event's (or `after`) otherwise.
pub async fn read_batch(
    db: &Db,
    after: Position,
    limit: i64,
    filter: &EventFilter,
) -> Result<(Vec<StoredEvent>, Position), SqlError> {
    if filter.is_filtered() {
        return read_reaching(db, after, limit, filter).await;
    }
    let events = read_after(db, after, limit, filter).await?;
    let reached = events.last().map_or(after, |e| e.position);
    Ok((events, reached))
}

/// One aggregate's stream in sequence order (for `GET /v1/tickets/{id}/events`).
/// Events of transactions still running are not visible yet either way.
pub async fn read_stream(
    db: &Db,
    aggregate_type: &str,
    aggregate_id: &str,
    after_sequence: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>, SqlError> {
    let sql = format!(
        "SELECT {} FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 AND sequence > $3 \
         ORDER BY sequence LIMIT $4",
        event_columns(db.backend())
    );
    let rows: Vec<EventRow> = db
        .fetch_all(
            &sql,
            crate::args![aggregate_type, aggregate_id, after_sequence, limit],
        )
        .await?;
    let mut events: Vec<StoredEvent> = rows.into_iter().map(StoredEvent::from).collect();
    crate::personal::reveal_events(db, &mut events).await?;
    Ok(events)
}

#[derive(sqlx::FromRow)]
struct HeadRow {
    transaction_id: i64,
    position: i64,
}

/// The position of the newest event of a stream, if any.
pub async fn stream_head(
    db: &Db,
    aggregate_type: &str,
    aggregate_id: &str,
) -> Result<Option<Position>, SqlError> {
    let tx = match db.backend() {
        Backend::Postgres => "transaction_id::text::bigint",
        Backend::Sqlite => "0",
    };
    let sql = format!(
        "SELECT {tx} AS transaction_id, position FROM events WHERE aggregate_type = $1 AND aggregate_id = $2 \
         ORDER BY sequence DESC LIMIT 1"
    );
    let row: Option<HeadRow> = db
        .fetch_optional(&sql, crate::args![aggregate_type, aggregate_id])
        .await?;
    Ok(row.map(|r| Position::new(r.transaction_id, r.position)))
}

#[derive(sqlx::FromRow)]
struct CountRow {
    n: i64,
}

/// How many events the log holds (for progress bars).
pub async fn count_events(db: &Db) -> Result<i64, SqlError> {
    let row: CountRow = db
        .fetch_one("SELECT COUNT(*) AS n FROM events", vec![])
        .await?;
    Ok(row.n)
}

/// The position of the newest committed event (the start when the log is
/// empty), whether or not the global reader may hand it out yet: on Postgres
/// it holds events back while an older transaction anywhere on the cluster is
/// running, so [`head`] can be behind a write that has already returned its
/// position. A position beyond this one was never handed to anyone.
pub async fn newest(db: &Db) -> Result<Position, SqlError> {
    let sql = match db.backend() {
        Backend::Postgres => {
            "SELECT transaction_id::text::bigint AS transaction_id, position FROM events \
             ORDER BY events.transaction_id DESC, events.position DESC LIMIT 1"
        }
        Backend::Sqlite => {
            "SELECT 0 AS transaction_id, position FROM events ORDER BY position DESC LIMIT 1"
        }
    };
    let row: Option<HeadRow> = db.fetch_optional(sql, vec![]).await?;
    Ok(row
        .map(|r| Position::new(r.transaction_id, r.position))
        .unwrap_or(Position::START))
}

/// The newest position the global reader would hand out now (the start when
/// the log is empty): where a subscriber that skips history begins.
pub async fn head(db: &Db) -> Result<Position, SqlError> {
    let sql = match db.backend() {
        Backend::Postgres => {
            "SELECT transaction_id::text::bigint AS transaction_id, position FROM events \
             WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot()) \
             ORDER BY events.transaction_id DESC, events.position DESC LIMIT 1"
        }
        Backend::Sqlite => {
            "SELECT 0 AS transaction_id, position FROM events ORDER BY position DESC LIMIT 1"
        }
    };
    let row: Option<HeadRow> = db.fetch_optional(sql, vec![]).await?;
    Ok(row
        .map(|r| Position::new(r.transaction_id, r.position))
        .unwrap_or(Position::START))
}

/// The highest position handed out so far (committed or not yet visible).
pub async fn max_position(db: &Db) -> Result<i64, SqlError> {
    let row: CountRow = db
        .fetch_one("SELECT COALESCE(MAX(position), 0) AS n FROM events", vec![])
        .await?;
    Ok(row.n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(sqlx::FromRow)]
    struct PlanRow {
        detail: String,
    }

    /// How SQLite would run the read of `filter`, one line per step.
    async fn sqlite_plan(filter: &EventFilter) -> String {
        let db = Db::connect("sqlite::memory:").await.unwrap();
        db.migrate().await.unwrap();
        let (sql, args) = read_statement(Backend::Sqlite, Position::new(0, 42), 200, filter);
        let rows: Vec<PlanRow> = db
            .fetch_all(&format!("EXPLAIN QUERY PLAN {sql}"), args)
            .await
            .unwrap();
        rows.into_iter()
            .map(|r| r.detail)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[tokio::test]
    async fn sqlite_reads_one_stream_or_one_workspace_through_their_indexes() {
        let stream = EventFilter {
            workspace_id: Some("acme".into()),
            aggregate_type: Some("ticket".into()),
            aggregate_id: Some("t-1".into()),
            ..EventFilter::default()
        };
        let plan = sqlite_plan(&stream).await;
        assert!(
            plan.contains("sqlite_autoindex_events_2 (aggregate_type=? AND aggregate_id=?)"),
            "{plan}"
        );

        let workspace = EventFilter {
            workspace_id: Some("acme".into()),
            aggregate_types: vec!["ticket".to_owned()],
            ..EventFilter::default()
        };
        let plan = sqlite_plan(&workspace).await;
        assert!(
            plan.contains("events_workspace_order (workspace_id=? AND position>?)")
                && !plan.contains("TEMP B-TREE"),
            "{plan}"
        );
    }
}
