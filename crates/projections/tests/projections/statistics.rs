//! Read-model tables keep planner statistics when autovacuum does not.

use std::time::Duration;

use tgcrm_projections::statistics::refresh;
use tgcrm_store::{Backend, Db};
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::count;

async fn analyzed(db: &Db, table: &str) -> bool {
    count(
        db,
        "SELECT COUNT(*) AS n FROM pg_stat_user_tables WHERE relname = $1 \
         AND (last_analyze IS NOT NULL OR last_autoanalyze IS NOT NULL)",
        tgcrm_store::args![table],
    )
    .await
        > 0
}

/// Rows `first..=last` of a one-column table.
async fn fill(db: &Db, table: &str, first: u32, last: u32) {
    db.execute(
        &format!(
            "INSERT INTO {table} (id) SELECT 'k' || CAST(n AS TEXT) FROM \
             (WITH RECURSIVE s(n) AS (SELECT {first} UNION ALL SELECT n + 1 FROM s WHERE n < {last}) \
             SELECT n FROM s) AS numbers"
        ),
        vec![],
    )
    .await
    .unwrap();
}

/// Refresh `table` once its changes reach pg_stat_user_tables (within
/// about a second of the writes).
async fn refresh_when_counted(db: &Db, table: &str) -> Vec<String> {
    for _ in 0..50 {
        let done = refresh(db, &[table]).await.unwrap();
        if !done.is_empty() {
            return done;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    vec![]
}

/// How many histogram bounds the statistics of `table`'s key hold.
async fn histogram_bounds(db: &Db, table: &str) -> i64 {
    count(
        db,
        "SELECT CAST(COALESCE(array_length(CAST(CAST(histogram_bounds AS TEXT) AS TEXT[]), 1), 0) AS BIGINT) AS n \
         FROM pg_stats WHERE tablename = $1 AND attname = 'id'",
        tgcrm_store::args![table],
    )
    .await
}

both_backends!(
    tables_filled_since_their_last_analyze_are_analyzed_when_autovacuum_is_off,
    |db: Db| async move {
        for t in ["rm_stats_mine", "rm_stats_other"] {
            db.execute(&format!("CREATE TABLE {t} (id TEXT PRIMARY KEY)"), vec![])
                .await
                .unwrap();
            fill(&db, t, 1, 1000).await;
        }
        if db.backend() == Backend::Sqlite {
            // Its planner does without: nothing to do.
            assert!(refresh(&db, &["rm_stats_mine"]).await.unwrap().is_empty());
            return;
        }
        let autovacuum_off = count(
            &db,
            "SELECT COUNT(*) AS n FROM pg_settings WHERE name = 'autovacuum' AND setting = 'off'",
            vec![],
        )
        .await
            > 0;
        let done = if autovacuum_off {
            refresh_when_counted(&db, "rm_stats_mine").await
        } else {
            refresh(&db, &["rm_stats_mine"]).await.unwrap()
        };
        if autovacuum_off {
            assert_eq!(done, vec!["rm_stats_mine".to_owned()]);
            assert!(analyzed(&db, "rm_stats_mine").await);
            assert!(
                !analyzed(&db, "rm_stats_other").await,
                "only the tables asked about"
            );
            // Fresh statistics: nothing more to do.
            assert!(refresh(&db, &["rm_stats_mine"]).await.unwrap().is_empty());
            // The first statistics are a full sample: a bound per
            // percentile of the keys at the default target of 100.
            let full = histogram_bounds(&db, "rm_stats_mine").await;
            assert!(full > 11, "{full} bounds");
            // A tenth more rows: the refresh takes a rough sample.
            fill(&db, "rm_stats_mine", 1001, 1200).await;
            assert_eq!(
                refresh_when_counted(&db, "rm_stats_mine").await,
                vec!["rm_stats_mine".to_owned()]
            );
            let rough = histogram_bounds(&db, "rm_stats_mine").await;
            assert!(rough <= 11 && rough < full, "{rough} bounds after {full}");
        } else {
            // Autovacuum keeps them: refresh leaves it to it.
            assert!(done.is_empty());
        }
    }
);
