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

both_backends!(
    tables_filled_since_their_last_analyze_are_analyzed_when_autovacuum_is_off,
    |db: Db| async move {
        for t in ["rm_stats_mine", "rm_stats_other"] {
            db.execute(&format!("CREATE TABLE {t} (id TEXT PRIMARY KEY)"), vec![])
                .await
                .unwrap();
            db.execute(
                &format!(
                    "INSERT INTO {t} (id) SELECT 'k' || CAST(n AS TEXT) FROM \
                     (WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 1000) \
                     SELECT n FROM s) AS numbers"
                ),
                vec![],
            )
            .await
            .unwrap();
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
        // Table statistics reach pg_stat_user_tables within about a second.
        let mut done = Vec::new();
        for _ in 0..50 {
            done = refresh(&db, &["rm_stats_mine"]).await.unwrap();
            if !done.is_empty() || !autovacuum_off {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if autovacuum_off {
            assert_eq!(done, vec!["rm_stats_mine".to_owned()]);
            assert!(analyzed(&db, "rm_stats_mine").await);
            assert!(
                !analyzed(&db, "rm_stats_other").await,
                "only the tables asked about"
            );
            // Fresh statistics: nothing more to do.
            assert!(refresh(&db, &["rm_stats_mine"]).await.unwrap().is_empty());
        } else {
            // Autovacuum keeps them: refresh leaves it to it.
            assert!(done.is_empty());
        }
    }
);
