//! Many rows, few statements: what batched projectors write with.
//!
//! A batched projector loads the rows a batch touches with [`fetch_in`],
//! folds the batch's events into them in memory, then writes each changed row
//! once with [`insert`] (multi-row `INSERT … VALUES (…), (…) [ON CONFLICT …]`)
//! and removes rows with [`delete_in`]. Statements are cut into chunks whose
//! row counts are powers of two, so each table sees only a handful of distinct
//! statements (each prepared once per connection) whatever the batch size, and
//! no statement goes past either database's limit on bind parameters.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use tgcrm_store::in_list::{chunks, placeholders};
use tgcrm_store::{AnyRow, Arg, Backend, SqlError, Tx};

/// Statement texts already made, by their parts: a 256-row `INSERT` has
/// thousands of `$N`, and formatting them for every chunk of every batch
/// was a twentieth of a replay's time.
type Texts = HashMap<(Backend, String, String, usize, usize), Arc<str>>;
static TEXTS: LazyLock<Mutex<Texts>> = LazyLock::new(Mutex::default);

/// The statement made of `head`, `tail` and `rows` rows of `width` values,
/// by `make`, made once (`width` is 0 for [`fetch_in`]'s, `usize::MAX` for
/// [`delete_in`]'s, whose parts are different strings).
fn text(
    backend: Backend,
    head: &str,
    tail: &str,
    rows: usize,
    width: usize,
    make: impl FnOnce() -> String,
) -> Arc<str> {
    let key = (backend, head.to_owned(), tail.to_owned(), rows, width);
    let mut texts = TEXTS.lock().unwrap_or_else(|e| e.into_inner());
    texts.entry(key).or_insert_with(|| make().into()).clone()
}

/// `count` bind parameters numbered from `first`, for a statement whose
/// parameters all come in order. On SQLite they are anonymous (`?`): sqlx
/// binds a named parameter (`$N`) by asking SQLite for each one's name, which
/// SQLite finds by walking the statement's list of names, so binding a
/// statement cost the square of its parameters (a fifth of an audit-chain
/// replay with 1,000-parameter inserts, by `perf`). An anonymous one is
/// bound by its place.
fn params(backend: Backend, first: usize, count: usize) -> String {
    match backend {
        Backend::Postgres => placeholders(first, count),
        Backend::Sqlite => vec!["?"; count].join(", "),
    }
}

/// The most bind parameters one statement carries (SQLite allows 32,766,
/// Postgres 65,535).
fn max_params(backend: Backend) -> usize {
    match backend {
        Backend::Postgres => 16_000,
        Backend::Sqlite => 1_000,
    }
}
/// The most rows one statement carries.
const MAX_ROWS: usize = 256;

/// `{head} VALUES (…), (…) {tail}` for every row, where `head` is
/// `INSERT INTO table (col, …)` and `tail` is empty or an `ON CONFLICT …`
/// clause. Every row must have as many values as `head` names columns. A
/// key must not appear twice in one call when `tail` updates on conflict.
pub async fn insert(
    tx: &mut Tx,
    head: &str,
    tail: &str,
    rows: Vec<Vec<Arg>>,
) -> Result<u64, SqlError> {
    let Some(width) = rows.first().map(Vec::len) else {
        return Ok(0);
    };
    debug_assert!(rows.iter().all(|r| r.len() == width));
    let mut rows = rows.into_iter();
    let mut affected = 0;
    let backend = tx.backend();
    let per_statement = (max_params(backend) / width.max(1)).min(MAX_ROWS);
    for n in chunks(rows.len(), per_statement) {
        let sql = text(backend, head, tail, n, width, || {
            let groups: Vec<String> = (0..n)
                .map(|r| format!("({})", params(backend, r * width + 1, width)))
                .collect();
            format!("{head} VALUES {} {tail}", groups.join(", "))
        });
        let args: Vec<Arg> = rows.by_ref().take(n).flatten().collect();
        affected += tx.execute(&sql, args).await?;
    }
    Ok(affected)
}

/// Rows of `{select} IN (…keys…) {tail}` for all `keys`, where `select`
/// ends with the keyed column (`SELECT … FROM t WHERE ticket_id`). `tail`
/// may add conditions or an order within each chunk.
pub async fn fetch_in<T: AnyRow>(
    tx: &mut Tx,
    select: &str,
    tail: &str,
    keys: &[String],
) -> Result<Vec<T>, SqlError> {
    let mut out = Vec::new();
    let mut rest = keys;
    let backend = tx.backend();
    for n in chunks(keys.len(), max_params(backend).min(MAX_ROWS * 4)) {
        let (now, later) = rest.split_at(n);
        rest = later;
        let sql = text(backend, select, tail, n, 0, || {
            format!("{select} IN ({}) {tail}", params(backend, 1, n))
        });
        let args: Vec<Arg> = now.iter().cloned().map(Arg::from).collect();
        out.extend(tx.fetch_all::<T>(&sql, args).await?);
    }
    Ok(out)
}

/// `DELETE FROM table WHERE {column} IN (…keys…)` for all `keys`.
pub async fn delete_in(
    tx: &mut Tx,
    table: &str,
    column: &str,
    keys: &[String],
) -> Result<u64, SqlError> {
    let mut affected = 0;
    let mut rest = keys;
    let backend = tx.backend();
    for n in chunks(keys.len(), max_params(backend).min(MAX_ROWS * 4)) {
        let (now, later) = rest.split_at(n);
        rest = later;
        let sql = text(backend, table, column, n, usize::MAX, || {
            format!(
                "DELETE FROM {table} WHERE {column} IN ({})",
                params(backend, 1, n)
            )
        });
        let args: Vec<Arg> = now.iter().cloned().map(Arg::from).collect();
        affected += tx.execute(&sql, args).await?;
    }
    Ok(affected)
}
