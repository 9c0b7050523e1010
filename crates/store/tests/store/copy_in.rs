//! Binary `COPY` on a real Postgres: every kind of value lands as the same
//! `INSERT` would have written it, and a row that breaks a unique key fails
//! the copy without writing any of its rows.

use chrono::{TimeZone, Utc};
use tgcrm_store::db::is_unique_violation;
use tgcrm_store::{Arg, args};

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Row {
    id: String,
    n: Option<i64>,
    flag: bool,
    at: Option<chrono::DateTime<Utc>>,
    doc: serde_json::Value,
    raw: serde_json::Value,
}

const COLUMNS: &[&str] = &["id", "n", "flag", "at", "doc", "raw"];

fn row(id: &str, n: Option<i64>, at: Option<chrono::DateTime<Utc>>) -> Vec<Arg> {
    let raw = serde_json::value::to_raw_value(&serde_json::json!({"id": id})).unwrap();
    vec![
        Arg::Text(id.to_owned()),
        Arg::OptI64(n),
        Arg::Bool(n.is_some()),
        Arg::OptTime(at),
        Arg::Json(serde_json::json!({"text": format!("tab\there, quote \" and ü of {id}")})),
        Arg::RawJson(raw),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copy_writes_every_kind_of_value_and_a_conflict_writes_nothing() {
    let test_db = tgcrm_testkit::postgres().await;
    let db = test_db.db.clone();
    db.execute(
        "CREATE TABLE copied (id TEXT PRIMARY KEY, n BIGINT, flag BOOLEAN NOT NULL, \
         at TIMESTAMPTZ, doc JSONB NOT NULL, raw JSONB NOT NULL)",
        args![],
    )
    .await
    .unwrap();
    let before_2000 = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap();
    let later = Utc.timestamp_micros(1_764_580_000_123_456).unwrap();

    // When two rows are copied in
    let mut tx = db.begin().await.unwrap();
    let added = tx
        .copy_in(
            "copied",
            COLUMNS,
            &[
                row("a", Some(-7), Some(before_2000)),
                row("b", None, Some(later)),
            ],
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();

    // Then both are there, value for value
    assert_eq!(added, 2);
    let rows: Vec<Row> = db
        .fetch_all("SELECT * FROM copied ORDER BY id", args![])
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].n, Some(-7));
    assert!(rows[0].flag && !rows[1].flag);
    assert_eq!(rows[0].at, Some(before_2000));
    assert_eq!(rows[1].at, Some(later));
    assert_eq!(rows[1].n, None);
    assert_eq!(
        rows[0].doc,
        serde_json::json!({"text": "tab\there, quote \" and ü of a"})
    );
    assert_eq!(rows[1].raw, serde_json::json!({"id": "b"}));

    // When a copy holds a new row and one whose key is taken
    let mut tx = db.begin().await.unwrap();
    let err = tx
        .copy_in(
            "copied",
            COLUMNS,
            &[row("c", Some(1), None), row("a", Some(2), None)],
        )
        .await
        .unwrap_err();
    drop(tx);

    // Then it fails as a unique violation, and neither row is written
    assert!(is_unique_violation(&err), "{err:?}");
    let count: (i64,) = db
        .fetch_one("SELECT count(*) FROM copied", args![])
        .await
        .unwrap();
    assert_eq!(count.0, 2);

    // And a value of the wrong type for its column is refused, not stored
    let mut tx = db.begin().await.unwrap();
    let mut wrong = row("d", Some(1), None);
    wrong[1] = Arg::Text("1".into());
    assert!(tx.copy_in("copied", COLUMNS, &[wrong]).await.is_err());
    drop(tx);
    test_db.finish().await;
}
