//! Many rows, few statements: what batched projectors write with.
//!
//! A batched projector loads the rows a batch touches with [`fetch_in`],
//! folds the batch's events into them in memory, then writes each changed row
//! once with [`insert`] (or [`append`], for rows only ever added) and removes
//! rows with [`delete_in`].
//!
//! On Postgres each of them is one statement whatever the batch's size, with
//! one array parameter per column (`INSERT … SELECT * FROM UNNEST($1::text[],
//! …)`, `WHERE key = ANY($1::text[])`): Postgres parses and plans a handful of
//! parameters instead of a thousand, and encodes each column as one value.
//! On SQLite, which has no arrays, they are multi-row `INSERT … VALUES (…),
//! (…)` and `IN (…)` lists cut into chunks whose row counts are powers of
//! two, so each table sees only a handful of distinct statements (each
//! prepared once per connection) whatever the batch size, and no statement
//! goes past SQLite's limit on bind parameters.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use tgcrm_store::in_list::{chunks, placeholders};
use tgcrm_store::{AnyRow, Arg, Array, Backend, SqlError, Tx};

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
    if tx.backend() == Backend::Postgres
        && let Some(columns) = columns(&rows)
    {
        let columns = transpose(columns, rows);
        let casts: Vec<String> = columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("${}::{}", i + 1, c.pg_type()))
            .collect();
        let sql = format!("{head} SELECT * FROM UNNEST({}) {tail}", casts.join(", "));
        return tx
            .execute(&sql, columns.into_iter().map(Arg::from).collect())
            .await;
    }
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

/// Batches from this many rows go to Postgres as a `COPY`: it costs a
/// round trip more than an `INSERT` (the server answers the `COPY` before
/// it takes the rows), which a live batch of a few events would notice.
const COPY_FROM_ROWS: usize = 64;

/// Add `rows` to `table`, rows that no unique index of the table can have
/// already (a conflict fails the statement). On Postgres a large batch is
/// one binary `COPY` (each value of its column's exact type: see
/// `tgcrm_store::copy_in`), which writes a table's new rows a page at a
/// time; otherwise the same multi-row `INSERT`s as [`insert`].
pub async fn append(
    tx: &mut Tx,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Arg>>,
) -> Result<u64, SqlError> {
    if rows.is_empty() {
        return Ok(0);
    }
    if tx.backend() == Backend::Postgres && rows.len() >= COPY_FROM_ROWS {
        return tx.copy_in(table, columns, &rows).await;
    }
    let head = format!("INSERT INTO {table} ({})", columns.join(", "));
    insert(tx, &head, "", rows).await
}

/// Empty columns for `rows`, when each column's values are of one type
/// that has an array form.
fn columns(rows: &[Vec<Arg>]) -> Option<Vec<Array>> {
    let first = rows.first()?;
    let columns: Vec<Array> = first
        .iter()
        .map(|a| Array::for_arg(a, rows.len()))
        .collect::<Option<_>>()?;
    let kind = |a: &Arg| Array::for_arg(a, 0).map(|c| std::mem::discriminant(&c));
    let alike = rows.iter().all(|row| {
        row.iter()
            .zip(&columns)
            .all(|(a, c)| kind(a) == Some(std::mem::discriminant(c)))
    });
    alike.then_some(columns)
}

/// The rows' values, column by column (their types checked by [`columns`]).
fn transpose(mut columns: Vec<Array>, rows: Vec<Vec<Arg>>) -> Vec<Array> {
    for row in rows {
        for (column, value) in columns.iter_mut().zip(row) {
            let pushed = column.push(value);
            debug_assert!(pushed.is_ok(), "columns() checked every value's type");
        }
    }
    columns
}

/// All `keys` as one array parameter.
fn key_array(keys: &[String]) -> Arg {
    Arg::Array(Array::Text(keys.iter().cloned().map(Some).collect()))
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
    let backend = tx.backend();
    if backend == Backend::Postgres {
        if keys.is_empty() {
            return Ok(vec![]);
        }
        let sql = format!("{select} = ANY($1::text[]) {tail}");
        return tx.fetch_all(&sql, vec![key_array(keys)]).await;
    }
    let mut out = Vec::new();
    let mut rest = keys;
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
    let backend = tx.backend();
    if backend == Backend::Postgres {
        if keys.is_empty() {
            return Ok(0);
        }
        let sql = format!("DELETE FROM {table} WHERE {column} = ANY($1::text[])");
        return tx.execute(&sql, vec![key_array(keys)]).await;
    }
    let mut affected = 0;
    let mut rest = keys;
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
