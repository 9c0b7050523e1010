//! Keyset cursors over (text key, id), for lists sorted by name or rank.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::cursor::BadCursor;

pub fn encode_key_id(key: &str, id: &str) -> String {
    let json = serde_json::json!([key, id]).to_string();
    URL_SAFE_NO_PAD.encode(json)
}

pub fn decode_key_id(cursor: &str) -> Result<(String, String), BadCursor> {
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| BadCursor)?;
    let (key, id): (String, String) = serde_json::from_slice(&raw).map_err(|_| BadCursor)?;
    if id.is_empty() || id.len() > 100 || key.len() > 1_000 {
        return Err(BadCursor);
    }
    Ok((key, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_cursors_round_trip() {
        let c = encode_key_id("refund | policy", "abc");
        assert_eq!(
            decode_key_id(&c).unwrap(),
            ("refund | policy".to_owned(), "abc".to_owned())
        );
        assert!(decode_key_id("%%").is_err());
    }
}
