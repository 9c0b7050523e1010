//! Rows that are only ever added, streamed to Postgres with one binary
//! `COPY … FROM STDIN`: Postgres fills whole pages of them at a time instead
//! of planning and executing an `INSERT` row by row, and parses no text
//! (the audit chain's 1.23M links of a replay: see `bench/ANALYSIS.md`,
//! round eight).
//!
//! The binary format carries no types: each value must be of its column's
//! type exactly ([`Arg::I64`] for `BIGINT`, [`Arg::Time`] for
//! `TIMESTAMPTZ`, [`Arg::Json`] and [`Arg::RawJson`] for `JSONB`, …), or
//! Postgres refuses the whole copy. A `COPY` has no `ON CONFLICT`: a row
//! that breaks a unique index fails the statement.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use crate::db::{Arg, SqlError};

/// The binary format's signature, flags and header extension length.
const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";

/// `COPY {table} ({columns}) FROM STDIN (FORMAT binary)` of `rows`, each
/// with one value per column; returns how many rows were added.
pub async fn copy_in(
    conn: &mut PgConnection,
    table: &str,
    columns: &[&str],
    rows: &[Vec<Arg>],
) -> Result<u64, SqlError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let data = encode(columns.len(), rows)?;
    let statement = format!(
        "COPY {table} ({}) FROM STDIN (FORMAT binary)",
        columns.join(", ")
    );
    copy_in_data(conn, &statement, &data).await
}

/// Bytes per `CopyData` message. A 20,000-row chunk in one message once
/// left the server waiting for data the client never sent (the benchmark's
/// 1M-ticket load).
pub const PIECE: usize = 256 * 1024;

/// Run `statement`, a `COPY … FROM STDIN`, with `data` (in the format it
/// names) as its input, sent [`PIECE`] bytes at a time; returns how many
/// rows were added.
pub async fn copy_in_data(
    conn: &mut PgConnection,
    statement: &str,
    data: &[u8],
) -> Result<u64, SqlError> {
    let mut copy = conn.copy_in_raw(statement).await?;
    for piece in data.chunks(PIECE) {
        copy.send(piece).await?;
    }
    copy.finish().await
}

/// The whole copy's data: header, rows, trailer.
pub fn encode(width: usize, rows: &[Vec<Arg>]) -> Result<Vec<u8>, SqlError> {
    let fields = i16::try_from(width).map_err(|_| invalid("too many columns"))?;
    let mut buf = Vec::with_capacity(HEADER.len() + rows.len() * 64 + 2);
    buf.extend_from_slice(HEADER);
    for row in rows {
        if row.len() != width {
            return Err(invalid("a row's values do not match the columns"));
        }
        buf.extend_from_slice(&i16::to_be_bytes(fields));
        for value in row {
            field(&mut buf, value)?;
        }
    }
    buf.extend_from_slice(&i16::to_be_bytes(-1));
    Ok(buf)
}

/// One value: its length, then its binary form (a length of -1 is NULL).
fn field(buf: &mut Vec<u8>, value: &Arg) -> Result<(), SqlError> {
    match value {
        Arg::Text(s) | Arg::OptText(Some(s)) => bytes(buf, s.as_bytes())?,
        Arg::I64(n) | Arg::OptI64(Some(n)) => {
            buf.extend_from_slice(&i32::to_be_bytes(8));
            buf.extend_from_slice(&i64::to_be_bytes(*n));
        }
        Arg::Bool(b) => {
            buf.extend_from_slice(&i32::to_be_bytes(1));
            buf.push(u8::from(*b));
        }
        Arg::Time(t) | Arg::OptTime(Some(t)) => {
            buf.extend_from_slice(&i32::to_be_bytes(8));
            buf.extend_from_slice(&i64::to_be_bytes(micros_since_2000(t)?));
        }
        Arg::Json(v) => {
            let text = serde_json::to_vec(v).map_err(|e| SqlError::Encode(Box::new(e)))?;
            jsonb(buf, &text)?;
        }
        Arg::RawJson(raw) => jsonb(buf, raw.get().as_bytes())?,
        Arg::OptText(None) | Arg::OptI64(None) | Arg::OptTime(None) => {
            buf.extend_from_slice(&i32::to_be_bytes(-1));
        }
        Arg::Array(_) => return Err(invalid("an array is not a column value")),
    }
    Ok(())
}

fn bytes(buf: &mut Vec<u8>, b: &[u8]) -> Result<(), SqlError> {
    let len = i32::try_from(b.len()).map_err(|_| invalid("a value over 2 GiB"))?;
    buf.extend_from_slice(&i32::to_be_bytes(len));
    buf.extend_from_slice(b);
    Ok(())
}

/// `jsonb`'s binary form: a version byte (1), then the JSON text.
fn jsonb(buf: &mut Vec<u8>, text: &[u8]) -> Result<(), SqlError> {
    let len = i32::try_from(text.len() + 1).map_err(|_| invalid("a value over 2 GiB"))?;
    buf.extend_from_slice(&i32::to_be_bytes(len));
    buf.push(1);
    buf.extend_from_slice(text);
    Ok(())
}

/// 2000-01-01 00:00 UTC, Postgres's epoch, in microseconds since 1970's.
const POSTGRES_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// `timestamptz`'s binary form: microseconds since Postgres's epoch.
fn micros_since_2000(t: &DateTime<Utc>) -> Result<i64, SqlError> {
    t.timestamp_micros()
        .checked_sub(POSTGRES_EPOCH_MICROS)
        .ok_or_else(|| invalid("a time out of Postgres's range"))
}

fn invalid(what: &str) -> SqlError {
    SqlError::Encode(format!("binary COPY: {what}").into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_row_is_its_field_count_then_each_value_by_length() {
        let rows = vec![vec![
            Arg::Text("ab".into()),
            Arg::I64(-2),
            Arg::OptText(None),
            Arg::Bool(true),
        ]];
        let data = encode(4, &rows).unwrap();
        let mut want = HEADER.to_vec();
        want.extend([0, 4]);
        want.extend([0, 0, 0, 2, b'a', b'b']);
        want.extend([0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe]);
        want.extend([0xff, 0xff, 0xff, 0xff]);
        want.extend([0, 0, 0, 1, 1]);
        want.extend([0xff, 0xff]);
        assert_eq!(&data[..], &want[..]);
    }

    #[test]
    fn times_count_from_2000_and_jsonb_carries_its_version() {
        let t = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 1).unwrap();
        let data = encode(2, &[vec![Arg::Time(t), Arg::Json(serde_json::json!([1]))]]).unwrap();
        let body = &data[HEADER.len() + 2..data.len() - 2];
        assert_eq!(&body[..12], &[0, 0, 0, 8, 0, 0, 0, 0, 0, 0x0f, 0x42, 0x40]);
        assert_eq!(&body[12..], &[0, 0, 0, 4, 1, b'[', b'1', b']']);
    }

    #[test]
    fn a_row_of_the_wrong_width_or_an_array_is_refused() {
        assert!(encode(2, &[vec![Arg::I64(1)]]).is_err());
        let array = Arg::Array(crate::db::Array::I64(vec![Some(1)]));
        assert!(encode(1, &[vec![array]]).is_err());
    }
}
