//! Opaque cursors for keyset pagination: base64url of the sort key of the last
//! row returned.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the cursor is not valid (use the next_cursor of a previous page)")]
pub struct BadCursor;

/// `LIMIT n` written into the statement, not bound: with a bound limit,
/// Postgres's generic plan (used after a statement's fifth run) guesses a
/// tenth of the matching rows and may start parallel workers for them (the
/// queue page: 19 ms instead of 0.3 ms at 20k waiting tickets).
pub fn limit_clause(limit: i64) -> String {
    format!("LIMIT {}", limit.max(0))
}

/// A (time, id) keyset cursor.
pub fn encode_time_id(at: DateTime<Utc>, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}|{}", at.to_rfc3339(), id))
}

pub fn decode_time_id(cursor: &str) -> Result<(DateTime<Utc>, String), BadCursor> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
    let s = String::from_utf8(raw).map_err(|_| BadCursor)?;
    let (at, id) = s.split_once('|').ok_or(BadCursor)?;
    let at = DateTime::parse_from_rfc3339(at)
        .map_err(|_| BadCursor)?
        .with_timezone(&Utc);
    if id.is_empty() || id.len() > 100 {
        return Err(BadCursor);
    }
    Ok((at, id.to_owned()))
}

/// An integer keyset cursor.
pub fn encode_i64(n: i64) -> String {
    URL_SAFE_NO_PAD.encode(n.to_string())
}

pub fn decode_i64(cursor: &str) -> Result<i64, BadCursor> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
    String::from_utf8(raw)
        .map_err(|_| BadCursor)?
        .parse()
        .map_err(|_| BadCursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let at = Utc::now();
        let c = encode_time_id(at, "abc");
        let (at2, id) = decode_time_id(&c).unwrap();
        assert_eq!(id, "abc");
        assert_eq!(at2.timestamp_micros(), at.timestamp_micros());
        assert!(decode_time_id("!!!").is_err());
        assert!(decode_time_id(&URL_SAFE_NO_PAD.encode("no-separator")).is_err());
        assert_eq!(decode_i64(&encode_i64(42)).unwrap(), 42);
        assert!(decode_i64("zz").is_err());
    }
}
