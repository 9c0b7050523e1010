//! Webhook delivery end to end below the HTTP API: ticket commands append
//! events, the router enqueues, the worker POSTs to a real receiver on
//! loopback. Every case runs on Postgres and on SQLite.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod batching;
mod cases;
mod harness;

/// One test body, run against both databases.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_postgres() {
                super::$body($crate::harness::TestDb::postgres().await).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn on_sqlite() {
                super::$body($crate::harness::TestDb::sqlite().await).await;
            }
        }
    };
}
