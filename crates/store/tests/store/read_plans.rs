//! How each database runs a subscriber's read: the walk of the global order
//! from its checkpoint, whatever the planner knows about the log. (SQLite's
//! plans for one stream and one workspace are in the reader's unit tests.)

use tgcrm_store::reader::{EventFilter, read_statement};
use tgcrm_store::{Backend, Db, Position, args};

#[derive(sqlx::FromRow)]
struct PlanRow {
    #[sqlx(rename = "QUERY PLAN")]
    line: String,
}

async fn plan(db: &Db, filter: &EventFilter, after: Position) -> String {
    let (sql, args) = read_statement(Backend::Postgres, after, 500, filter);
    let rows: Vec<PlanRow> = db.fetch_all(&format!("EXPLAIN {sql}"), args).await.unwrap();
    lines(rows.into_iter().map(|r| r.line))
}

/// A plan's lines as one text.
fn lines(rows: impl Iterator<Item = String>) -> String {
    rows.collect::<Vec<_>>().join("\n")
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The filters projectors and reactors read with.
fn subscriber_filters() -> [EventFilter; 3] {
    [
        EventFilter {
            aggregate_types: strings(&["ticket", "workspace"]),
            ..EventFilter::default()
        },
        EventFilter {
            aggregate_type: Some("ticket".into()),
            event_types: strings(&["TicketOpened", "PriorityChanged"]),
            ..EventFilter::default()
        },
        EventFilter {
            event_types: strings(&["AgentReplied"]),
            ..EventFilter::default()
        },
    ]
}

#[derive(sqlx::FromRow)]
struct SqlitePlanRow {
    detail: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reads_a_subscribers_filter_from_its_checkpoint_not_through_an_index() {
    let test_db = tgcrm_testkit::sqlite().await;
    for filter in &subscriber_filters() {
        // When SQLite plans the read
        let (sql, args) = read_statement(Backend::Sqlite, Position::new(0, 42), 200, filter);
        let rows: Vec<SqlitePlanRow> = test_db
            .db
            .fetch_all(&format!("EXPLAIN QUERY PLAN {sql}"), args)
            .await
            .unwrap();
        let plan = lines(rows.into_iter().map(|r| r.detail));
        // Then it walks the log from the checkpoint in order, no sort
        assert!(
            plan.contains("USING INTEGER PRIMARY KEY (rowid>?)") && !plan.contains("TEMP B-TREE"),
            "{filter:?}: {plan}"
        );
    }
    test_db.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_reads_a_subscribers_filter_along_the_global_order_before_any_analyze() {
    let test_db = tgcrm_testkit::postgres().await;
    let db = test_db.db.clone();
    // Given a log of 20,000 ticket events the planner has no statistics of
    // (a young database, or a server whose autovacuum is off)
    db.execute(
        "INSERT INTO events (aggregate_type, aggregate_id, sequence, event_type, event_version, \
         payload, metadata, event_id, workspace_id, actor, source, occurred_at) \
         SELECT 'ticket', 't-' || (n / 10), n % 10 + 1, \
                CASE WHEN n % 10 = 0 THEN 'TicketOpened' ELSE 'MessageAdded' END, '1.0', \
                '{}', '{}', 'e-' || n, 'acme', 'customer', 'telegram', now() \
         FROM generate_series(0, 19999) AS n",
        args![],
    )
    .await
    .unwrap();
    #[derive(sqlx::FromRow)]
    struct Near {
        transaction_id: i64,
        position: i64,
    }
    let near: Near = db
        .fetch_one(
            "SELECT transaction_id::text::bigint AS transaction_id, position FROM events \
             ORDER BY position DESC OFFSET 50 LIMIT 1",
            args![],
        )
        .await
        .unwrap();
    let checkpoint = Position::new(near.transaction_id, near.position);

    // And the filters projectors and reactors read with
    for filter in &subscriber_filters() {
        // When Postgres plans a read from a checkpoint near the end
        let plan = plan(&db, filter, checkpoint).await;
        // Then it walks the global order from there, not every event of a type
        assert!(
            plan.contains("on events_global_order") && !plan.contains("events_pkey"),
            "{filter:?}:\n{plan}"
        );
    }

    // While one stream is read through the primary key
    let stream = EventFilter {
        workspace_id: Some("acme".into()),
        aggregate_type: Some("ticket".into()),
        aggregate_id: Some("t-7".into()),
        ..EventFilter::default()
    };
    let plan = plan(&db, &stream, Position::START).await;
    assert!(plan.contains("events_pkey"), "{plan}");
    test_db.finish().await;
}

/// Keys for customers `tg:$1` to `tg:$2` of workspace `acme`.
const ADD_CUSTOMERS: &str = "INSERT INTO personal_keys (workspace_id, subject, key, created_at) \
     SELECT 'acme', 'tg:' || n, 'k', now() FROM generate_series($1::int8, $2::int8) AS n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_looks_up_a_batch_of_keys_by_subject_in_a_plan_made_while_the_table_was_small() {
    let test_db = tgcrm_testkit::postgres().await;
    let db = test_db.db.clone();
    // Given a plan of the key lookup made (and kept, as a prepared
    // statement's generic plan is) while the workspace had five customers
    db.execute(ADD_CUSTOMERS, args![1_i64, 5_i64])
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    tx.execute("SET LOCAL plan_cache_mode = force_generic_plan", args![])
        .await
        .unwrap();
    let sql = tgcrm_store::personal::keys_statement(4);
    tx.execute(&format!("PREPARE keys AS {sql}"), args![])
        .await
        .unwrap();
    let lookup = "EXECUTE keys('acme', 'tg:1', 'tg:2', 'tg:3', 'tg:4')";
    tx.execute(lookup, args![]).await.unwrap();
    // When the workspace has grown to 20,000 customers
    tx.execute(ADD_CUSTOMERS, args![6_i64, 20_000_i64])
        .await
        .unwrap();
    // Then the plan still finds each subject in the index, not by walking
    // every key of the workspace
    let rows: Vec<PlanRow> = tx
        .fetch_all(&format!("EXPLAIN (ANALYZE, COSTS OFF) {lookup}"), args![])
        .await
        .unwrap();
    let plan = lines(rows.into_iter().map(|r| r.line));
    assert!(
        plan.contains("Index Cond: ((subject = ANY") && !plan.contains("Rows Removed by Filter"),
        "{plan}"
    );
    drop(tx);
    test_db.finish().await;
}
