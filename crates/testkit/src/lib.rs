//! Test support for the crates that talk to a database: a fresh, migrated
//! database per test on Postgres and on SQLite, and [`both_backends!`] to run
//! one test body on both (DESIGN.md §8).
//!
//! Postgres comes from `TEST_DATABASE_URL`, else the local server on
//! 127.0.0.1:5432. A missing Postgres is a failure that says how to get one,
//! never a silent skip.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fixtures;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tgcrm_store::{Db, EventStore};

/// Where Postgres is when `TEST_DATABASE_URL` is not set.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Test databases are named `tgcrm_test_<unix seconds>_<uuid>`; the time in
/// the name lets a later run drop what a crashed or failed run left behind.
const PREFIX: &str = "tgcrm_test_";

/// Connections per test pool: tests run side by side (and some start several
/// nodes), and the server allows about a hundred connections in all.
const POOL_SIZE: u32 = 12;

/// Databases older than this with our prefix are dropped at start.
const STALE_AFTER: Duration = Duration::from_secs(3600);

/// A fresh database for one test, migrated. Dropping it drops a Postgres
/// database (unless the test is failing: then it is kept for inspection and a
/// later run drops it after an hour) and deletes a SQLite file.
pub struct TestDb {
    pub db: Db,
    /// The URL [`Db::connect`] accepts, for a second pool (another "process").
    pub url: String,
    owner: Option<Owner>,
}

enum Owner {
    Postgres { admin_url: String, name: String },
    Sqlite(tempfile::TempDir),
}

impl std::fmt::Debug for TestDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestDb")
            .field("url", &redacted(&self.url))
            .finish()
    }
}

impl TestDb {
    /// An event store over this database.
    pub fn store(&self) -> EventStore {
        EventStore::new(self.db.clone())
    }

    /// Another connection pool to the same database, as a second process would have.
    pub async fn connect_again(&self) -> Db {
        Db::connect_sized(&self.url, POOL_SIZE)
            .await
            .unwrap_or_else(|e| panic!("connecting again to {}: {e}", redacted(&self.url)))
    }

    /// Close the pool and drop the database now (what `Drop` does, without blocking).
    pub async fn finish(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.db.close()).await;
        match self.owner.take() {
            Some(Owner::Postgres { admin_url, name }) => drop_database(&admin_url, &name).await,
            Some(Owner::Sqlite(dir)) => drop(dir),
            None => {}
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(Owner::Postgres { admin_url, name }) = self.owner.take() else {
            // A SQLite temp dir deletes itself.
            return;
        };
        if std::thread::panicking() {
            eprintln!(
                "keeping database {name} of the failing test for inspection; a later run drops it after an hour"
            );
            return;
        }
        // Drop runs inside the test's runtime, which must not be blocked on:
        // do it on a thread of its own with a runtime of its own, bounded.
        let worker = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(drop_database(&admin_url, &name));
        });
        let _ = worker.join();
    }
}

fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned())
}

/// `url` with its database name replaced by `name` (query string kept).
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[authority_start..]
        .find('/')
        .map_or(base.len(), |i| authority_start + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// The URL without its password, for messages.
fn redacted(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{}{user}:****{}", &url[..scheme_end], &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

async fn admin_connection(admin_url: &str) -> PgConnection {
    let attempt =
        tokio::time::timeout(Duration::from_secs(10), PgConnection::connect(admin_url)).await;
    let error = match attempt {
        Ok(Ok(conn)) => return conn,
        Ok(Err(e)) => e.to_string(),
        Err(_) => "no answer within 10 s".to_owned(),
    };
    panic!(
        "\n\nThese tests need PostgreSQL, and {} is not reachable: {error}.\n\
         Start the local server with\n    \
         pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
         or set TEST_DATABASE_URL to a server where this user may CREATE DATABASE.\n\
         (Tests never skip themselves when the database is missing.)\n",
        redacted(admin_url)
    );
}

async fn drop_database(admin_url: &str, name: &str) {
    let work = async {
        let mut conn = PgConnection::connect(admin_url).await.ok()?;
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(&mut conn)
            .await
            .ok()?;
        conn.close().await.ok()
    };
    // Best effort: what fails here is dropped by a later run.
    let _ = tokio::time::timeout(Duration::from_secs(10), work).await;
}

fn unix_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Once per process: drop test databases older than an hour (left by runs
/// that crashed or failed), so they do not pile up.
async fn drop_stale_databases(conn: &mut PgConnection) {
    static DONE: AtomicBool = AtomicBool::new(false);
    if DONE.swap(true, Ordering::SeqCst) {
        return;
    }
    let names: Vec<(String,)> = match sqlx::query_as(
        "SELECT datname FROM pg_database WHERE datname LIKE 'tgcrm\\_test\\_%'",
    )
    .fetch_all(&mut *conn)
    .await
    {
        Ok(names) => names,
        Err(_) => return,
    };
    let cutoff = unix_seconds().saturating_sub(STALE_AFTER.as_secs());
    for (name,) in names {
        let created = name
            .strip_prefix(PREFIX)
            .and_then(|rest| rest.split('_').next())
            .and_then(|secs| secs.parse::<u64>().ok());
        if created.is_some_and(|c| c < cutoff) {
            // Another run may be dropping it at the same time: ignore errors.
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut *conn)
                .await;
        }
    }
}

/// A fresh Postgres database, migrated.
pub async fn postgres() -> TestDb {
    let admin_url = admin_url();
    let mut admin = admin_connection(&admin_url).await;
    drop_stale_databases(&mut admin).await;
    let name = format!(
        "{PREFIX}{}_{}",
        unix_seconds(),
        uuid::Uuid::now_v7().simple()
    );
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&mut admin)
        .await
        .unwrap_or_else(|e| panic!("creating test database {name}: {e}"));
    let _ = admin.close().await;
    let url = with_database(&admin_url, &name);
    let owner = Some(Owner::Postgres {
        admin_url: admin_url.clone(),
        name: name.clone(),
    });
    let db = match Db::connect_sized(&url, POOL_SIZE).await {
        Ok(db) => db,
        Err(e) => {
            drop_database(&admin_url, &name).await;
            panic!("connecting to test database {}: {e}", redacted(&url));
        }
    };
    // From here on, a panic still leaves the database to the owner's Drop.
    let test_db = TestDb { db, url, owner };
    test_db
        .db
        .migrate()
        .await
        .unwrap_or_else(|e| panic!("migrating test database {name}: {e}"));
    test_db
}

/// A fresh SQLite database in a temporary directory, migrated.
pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().expect("creating a temporary directory");
    let url = format!("sqlite:{}", dir.path().join("crm.db").display());
    let db = Db::connect(&url)
        .await
        .unwrap_or_else(|e| panic!("opening {url}: {e}"));
    db.migrate()
        .await
        .unwrap_or_else(|e| panic!("migrating {url}: {e}"));
    TestDb {
        db,
        url,
        owner: Some(Owner::Sqlite(dir)),
    }
}

/// Run one test body on Postgres and on SQLite:
///
/// ```ignore
/// both_backends!(appending_twice_at_one_version_conflicts, |db: Db| async move {
///     /* … */
/// });
/// ```
///
/// expands to `mod appending_twice_at_one_version_conflicts { fn postgres(); fn sqlite(); }`,
/// each a `#[tokio::test]` on a multi-threaded runtime with a fresh database.
/// The calling crate needs `tokio` (with `macros` and `rt-multi-thread`).
#[macro_export]
macro_rules! both_backends {
    ($(#[$meta:meta])* $name:ident, $body:expr $(,)?) => {
        $(#[$meta])*
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let test_db = $crate::postgres().await;
                ($body)(test_db.db.clone()).await;
                test_db.finish().await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let test_db = $crate::sqlite().await;
                ($body)(test_db.db.clone()).await;
                test_db.finish().await;
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_name_is_replaced_and_the_query_kept() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            with_database("postgres://u:p@h/postgres?sslmode=disable", "x"),
            "postgres://u:p@h/x?sslmode=disable"
        );
        assert_eq!(
            with_database("postgres://h:5432", "x"),
            "postgres://h:5432/x"
        );
    }

    #[test]
    fn passwords_never_reach_messages() {
        assert_eq!(
            redacted("postgres://u:secret@h/db"),
            "postgres://u:****@h/db"
        );
        assert_eq!(redacted("postgres://u@h/db"), "postgres://u@h/db");
    }
}
