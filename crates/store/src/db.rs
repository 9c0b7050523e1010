//! The one seam between the two databases. Postgres is the system of record for
//! real deployments; SQLite is the zero-setup default. Queries are written once
//! with `$1`-style placeholders (both drivers accept them) and portable types
//! (ids as text, timestamps as UTC); where the dialects really differ, callers
//! ask [`Db::backend`] and choose.

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use sqlx::postgres::{PgArguments, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{Arguments, FromRow};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use crate::leader::LockSession;

pub use sqlx::Error as SqlError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// The Postgres pool size when none is configured (`CRM_DATABASE_MAX_CONNECTIONS`).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 32;

/// A pooled Postgres connection idle this long is pinged before it is used.
pub const PING_IDLE_AFTER: Duration = Duration::from_secs(1);

/// A connection pool to either database.
#[derive(Debug, Clone)]
pub enum Db {
    /// The pool, and the session on which this process holds leader locks.
    Postgres(PgPool, Arc<LockSession>),
    Sqlite(SqlitePool, Arc<LockSession>),
}

/// One bind parameter. Both drivers encode each variant natively.
#[derive(Debug, Clone)]
pub enum Arg {
    Text(String),
    OptText(Option<String>),
    I64(i64),
    OptI64(Option<i64>),
    Bool(bool),
    Time(DateTime<Utc>),
    OptTime(Option<DateTime<Utc>>),
    Json(serde_json::Value),
    /// JSON serialized already (`serde_json::value::to_raw_value`): bound
    /// as its text, without a `serde_json::Value` built and walked in
    /// between.
    RawJson(Box<RawValue>),
    /// A whole column of values, bound as one Postgres array (`UNNEST`);
    /// SQLite has no arrays.
    Array(Array),
}

/// A column of values of one type, bound as one Postgres array parameter.
#[derive(Debug, Clone)]
pub enum Array {
    Text(Vec<Option<String>>),
    I64(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
    Time(Vec<Option<DateTime<Utc>>>),
    Json(Vec<serde_json::Value>),
    RawJson(Vec<sqlx::types::Json<Box<RawValue>>>),
}

impl Array {
    /// An empty column for values like `like`, or `None` for one that has
    /// no array form (an array itself).
    pub fn for_arg(like: &Arg, capacity: usize) -> Option<Self> {
        Some(match like {
            Arg::Text(_) | Arg::OptText(_) => Self::Text(Vec::with_capacity(capacity)),
            Arg::I64(_) | Arg::OptI64(_) => Self::I64(Vec::with_capacity(capacity)),
            Arg::Bool(_) => Self::Bool(Vec::with_capacity(capacity)),
            Arg::Time(_) | Arg::OptTime(_) => Self::Time(Vec::with_capacity(capacity)),
            Arg::Json(_) => Self::Json(Vec::with_capacity(capacity)),
            Arg::RawJson(_) => Self::RawJson(Vec::with_capacity(capacity)),
            Arg::Array(_) => return None,
        })
    }

    /// Add `arg` to the column; gives it back when it is of another type.
    pub fn push(&mut self, arg: Arg) -> Result<(), Arg> {
        match (self, arg) {
            (Self::Text(c), Arg::Text(v)) => c.push(Some(v)),
            (Self::Text(c), Arg::OptText(v)) => c.push(v),
            (Self::I64(c), Arg::I64(v)) => c.push(Some(v)),
            (Self::I64(c), Arg::OptI64(v)) => c.push(v),
            (Self::Bool(c), Arg::Bool(v)) => c.push(Some(v)),
            (Self::Time(c), Arg::Time(v)) => c.push(Some(v)),
            (Self::Time(c), Arg::OptTime(v)) => c.push(v),
            (Self::Json(c), Arg::Json(v)) => c.push(v),
            (Self::RawJson(c), Arg::RawJson(v)) => c.push(sqlx::types::Json(v)),
            (_, other) => return Err(other),
        }
        Ok(())
    }

    /// The Postgres type of the array, for a cast (`$1::text[]`).
    pub fn pg_type(&self) -> &'static str {
        match self {
            Self::Text(_) => "text[]",
            Self::I64(_) => "int8[]",
            Self::Bool(_) => "bool[]",
            Self::Time(_) => "timestamptz[]",
            Self::Json(_) | Self::RawJson(_) => "jsonb[]",
        }
    }
}

impl From<Array> for Arg {
    fn from(a: Array) -> Self {
        Arg::Array(a)
    }
}

macro_rules! arg_from {
    ($t:ty, $v:ident) => {
        impl From<$t> for Arg {
            fn from(x: $t) -> Self {
                Arg::$v(x)
            }
        }
    };
}
arg_from!(String, Text);
arg_from!(Option<String>, OptText);
arg_from!(i64, I64);
arg_from!(Option<i64>, OptI64);
arg_from!(bool, Bool);
arg_from!(DateTime<Utc>, Time);
arg_from!(Option<DateTime<Utc>>, OptTime);
arg_from!(serde_json::Value, Json);
arg_from!(Box<RawValue>, RawJson);

impl From<&str> for Arg {
    fn from(x: &str) -> Self {
        Arg::Text(x.to_owned())
    }
}

impl From<Option<&str>> for Arg {
    fn from(x: Option<&str>) -> Self {
        Arg::OptText(x.map(str::to_owned))
    }
}

/// Build a `Vec<Arg>` from values that convert into [`Arg`].
#[macro_export]
macro_rules! args {
    () => { Vec::<$crate::db::Arg>::new() };
    ($($x:expr),+ $(,)?) => { vec![$($crate::db::Arg::from($x)),+] };
}

fn pg_args(args: Vec<Arg>) -> Result<PgArguments, SqlError> {
    let mut out = PgArguments::default();
    for a in args {
        let r = match a {
            Arg::Text(v) => out.add(v),
            Arg::OptText(v) => out.add(v),
            Arg::I64(v) => out.add(v),
            Arg::OptI64(v) => out.add(v),
            Arg::Bool(v) => out.add(v),
            Arg::Time(v) => out.add(v),
            Arg::OptTime(v) => out.add(v),
            Arg::Json(v) => out.add(v),
            Arg::RawJson(v) => out.add(sqlx::types::Json(v)),
            Arg::Array(Array::Text(v)) => out.add(v),
            Arg::Array(Array::I64(v)) => out.add(v),
            Arg::Array(Array::Bool(v)) => out.add(v),
            Arg::Array(Array::Time(v)) => out.add(v),
            Arg::Array(Array::Json(v)) => out.add(v),
            Arg::Array(Array::RawJson(v)) => out.add(v),
        };
        r.map_err(SqlError::Encode)?;
    }
    Ok(out)
}

fn sqlite_args(args: Vec<Arg>) -> Result<SqliteArguments<'static>, SqlError> {
    let mut out = SqliteArguments::default();
    for a in args {
        let r = match a {
            Arg::Text(v) => out.add(v),
            Arg::OptText(v) => out.add(v),
            Arg::I64(v) => out.add(v),
            Arg::OptI64(v) => out.add(v),
            Arg::Bool(v) => out.add(v),
            Arg::Time(v) => out.add(v),
            Arg::OptTime(v) => out.add(v),
            // SQLite keeps JSON as text.
            Arg::Json(v) => out.add(v.to_string()),
            Arg::RawJson(v) => out.add(String::from(Box::<str>::from(v))),
            Arg::Array(_) => Err("SQLite has no array parameters".into()),
        };
        r.map_err(SqlError::Encode)?;
    }
    Ok(out)
}

/// The four query methods, written once for the pool and the transaction:
/// `$pg`/`$lite` bind the variant's inner value, `$pg_exec`/`$lite_exec` turn
/// it into an executor.
macro_rules! query_methods {
    (($($recv:tt)+), $this:tt, $pg:ident => $pg_exec:expr, $lite:ident => $lite_exec:expr) => {
        pub async fn execute($($recv)+, sql: &str, args: Vec<Arg>) -> Result<u64, SqlError> {
            match $this {
                Self::Postgres($pg, ..) => Ok(sqlx::query_with(sql, pg_args(args)?).execute($pg_exec).await?.rows_affected()),
                Self::Sqlite($lite, ..) => Ok(sqlx::query_with(sql, sqlite_args(args)?)
                    .execute($lite_exec)
                    .await?
                    .rows_affected()),
            }
        }

        pub async fn fetch_all<T: AnyRow>($($recv)+, sql: &str, args: Vec<Arg>) -> Result<Vec<T>, SqlError> {
            match $this {
                Self::Postgres($pg, ..) => sqlx::query_as_with::<_, T, _>(sql, pg_args(args)?).fetch_all($pg_exec).await,
                Self::Sqlite($lite, ..) => sqlx::query_as_with::<_, T, _>(sql, sqlite_args(args)?).fetch_all($lite_exec).await,
            }
        }

        pub async fn fetch_optional<T: AnyRow>($($recv)+, sql: &str, args: Vec<Arg>) -> Result<Option<T>, SqlError> {
            match $this {
                Self::Postgres($pg, ..) => sqlx::query_as_with::<_, T, _>(sql, pg_args(args)?).fetch_optional($pg_exec).await,
                Self::Sqlite($lite, ..) => {
                    sqlx::query_as_with::<_, T, _>(sql, sqlite_args(args)?).fetch_optional($lite_exec).await
                }
            }
        }

        pub async fn fetch_one<T: AnyRow>($($recv)+, sql: &str, args: Vec<Arg>) -> Result<T, SqlError> {
            match $this {
                Self::Postgres($pg, ..) => sqlx::query_as_with::<_, T, _>(sql, pg_args(args)?).fetch_one($pg_exec).await,
                Self::Sqlite($lite, ..) => sqlx::query_as_with::<_, T, _>(sql, sqlite_args(args)?).fetch_one($lite_exec).await,
            }
        }
    };
}

/// Rows decodable from both databases.
pub trait AnyRow:
    for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin
{
}
impl<T> AnyRow for T where
    T: for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, SqliteRow> + Send + Unpin
{
}

impl Db {
    /// Connect to `postgres://…` or `sqlite:…` (a path; created if missing),
    /// with at most [`DEFAULT_MAX_CONNECTIONS`] to Postgres.
    pub async fn connect(url: &str) -> Result<Self, SqlError> {
        Self::connect_sized(url, DEFAULT_MAX_CONNECTIONS).await
    }

    /// Like [`Db::connect`], with at most `max_connections` to Postgres
    /// (SQLite always uses one).
    pub async fn connect_sized(url: &str, max_connections: u32) -> Result<Self, SqlError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            // Requests, projectors and reactors share the pool (leader locks
            // live on one connection of their own, see `leader`); connections
            // a burst opened are closed again when idle.
            // sqlx pings a connection before every acquire by default: a
            // round trip on every statement's path (commands/s rose by about
            // a fifth without it, see bench/ANALYSIS.md round nine). It also
            // pings a connection as it goes back to the pool and closes it
            // if that fails, so a connection idle for less than
            // `PING_IDLE_AFTER` was alive a moment ago; only one idle longer
            // (a quiet server's, after a database restart) is pinged first.
            let pool = PgPoolOptions::new()
                .max_connections(max_connections.max(2))
                .test_before_acquire(false)
                .before_acquire(|conn, meta| {
                    Box::pin(async move {
                        if meta.idle_for >= PING_IDLE_AFTER {
                            sqlx::Connection::ping(conn).await?;
                        }
                        Ok(true)
                    })
                })
                .idle_timeout(Duration::from_secs(30))
                .acquire_timeout(Duration::from_secs(3))
                .connect(url)
                .await?;
            Ok(Self::from_pg(pool))
        } else {
            let opts = SqliteConnectOptions::from_str(url)?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            // One connection: SQLite has one writer anyway, and with a single
            // connection the rowid order of the log is its commit order.
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(opts)
                .await?;
            Ok(Self::from_sqlite(pool))
        }
    }

    /// A `Db` over a Postgres pool made elsewhere (tests, tools).
    pub fn from_pg(pool: PgPool) -> Self {
        Self::Postgres(pool, Arc::default())
    }

    /// A `Db` over a SQLite pool made elsewhere (tests, tools).
    pub fn from_sqlite(pool: SqlitePool) -> Self {
        Self::Sqlite(pool, Arc::default())
    }

    /// The session holding this process's leader locks (see [`crate::leader`]).
    pub fn lock_session(&self) -> Arc<LockSession> {
        match self {
            Self::Postgres(_, s) | Self::Sqlite(_, s) => s.clone(),
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_, _) => Backend::Postgres,
            Self::Sqlite(_, _) => Backend::Sqlite,
        }
    }

    pub fn pg(&self) -> Option<&PgPool> {
        match self {
            Self::Postgres(p, _) => Some(p),
            Self::Sqlite(_, _) => None,
        }
    }

    query_methods!((&self), self, p => p, p => p);

    pub async fn begin(&self) -> Result<Tx, SqlError> {
        match self {
            Self::Postgres(p, _) => Ok(Tx::Postgres(p.begin().await?)),
            Self::Sqlite(p, _) => Ok(Tx::Sqlite(p.begin().await?)),
        }
    }

    /// Apply the migrations of this backend.
    pub async fn migrate(&self) -> Result<(), sqlx::migrate::MigrateError> {
        match self {
            Self::Postgres(p, _) => sqlx::migrate!("migrations/postgres").run(p).await,
            Self::Sqlite(p, _) => sqlx::migrate!("migrations/sqlite").run(p).await,
        }
    }

    pub async fn close(&self) {
        match self {
            Self::Postgres(p, _) => p.close().await,
            Self::Sqlite(p, _) => p.close().await,
        }
    }
}

/// A transaction on either database. Dropped without `commit`, it rolls back.
pub enum Tx {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

impl Tx {
    pub fn backend(&self) -> Backend {
        match self {
            Self::Postgres(_) => Backend::Postgres,
            Self::Sqlite(_) => Backend::Sqlite,
        }
    }

    query_methods!((&mut self), self, t => &mut **t, t => &mut **t);

    /// Add `rows` to `table` with one binary `COPY` (Postgres only; see
    /// [`crate::copy_in`] for what the rows' values must be).
    pub async fn copy_in(
        &mut self,
        table: &str,
        columns: &[&str],
        rows: &[Vec<Arg>],
    ) -> Result<u64, SqlError> {
        match self {
            Self::Postgres(t) => crate::copy_in::copy_in(t, table, columns, rows).await,
            Self::Sqlite(_) => Err(SqlError::Protocol("COPY is Postgres's".into())),
        }
    }

    pub async fn commit(self) -> Result<(), SqlError> {
        match self {
            Self::Postgres(t) => t.commit().await,
            Self::Sqlite(t) => t.commit().await,
        }
    }
}

/// Is this error a unique-key violation (another writer got there first)?
pub fn is_unique_violation(e: &SqlError) -> bool {
    match e {
        SqlError::Database(d) => d.is_unique_violation(),
        _ => false,
    }
}
