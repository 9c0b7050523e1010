//! The hash of one link: SHA-256 over the previous link's hash and a canonical
//! rendering of the event (every stored column but the database-assigned
//! position, as a JSON object with its keys sorted), hex-encoded.

use serde::Serialize;
use sha2::{Digest, Sha256};
use tgcrm_store::StoredEvent;

/// The `prev_hash` of a chain's first link.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The canonical rendering, borrowed from the event (the payload is not
/// copied). Fields are declared in the sorted order of their keys, which is
/// the order serde_json writes a map's keys in: the rendering is the one a
/// `json!` object of the same fields gives (`tests/projections/audit_hash.rs`
/// holds them equal), so
/// chains written by earlier releases still verify.
#[derive(Serialize)]
struct Canonical<'a> {
    actor: &'a str,
    aggregate_id: &'a str,
    aggregate_type: &'a str,
    causation_id: Option<&'a str>,
    correlation_id: Option<&'a str>,
    event_id: &'a str,
    event_type: &'a str,
    event_version: &'a str,
    occurred_at: i64,
    /// The stored form: personal fields stay sealed, so erasure keeps the chain valid.
    payload: &'a serde_json::Value,
    recorded_at: i64,
    request_id: Option<&'a str>,
    sequence: i64,
    source: &'a str,
    workspace_id: &'a str,
}

/// Feeds what serde_json writes straight into the hash.
struct Hashing<'a>(&'a mut Sha256);

impl std::io::Write for Hashing<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn event_hash(prev_hash: &str, e: &StoredEvent) -> Result<String, serde_json::Error> {
    let canonical = Canonical {
        actor: &e.actor,
        aggregate_id: &e.aggregate_id,
        aggregate_type: &e.aggregate_type,
        causation_id: e.causation_id.as_deref(),
        correlation_id: e.correlation_id.as_deref(),
        event_id: &e.event_id,
        event_type: &e.event_type,
        event_version: &e.event_version,
        occurred_at: e.occurred_at.timestamp_micros(),
        payload: e.raw_payload.as_ref().unwrap_or(&e.payload),
        recorded_at: e.recorded_at.timestamp_micros(),
        request_id: e.request_id.as_deref(),
        sequence: e.sequence,
        source: &e.source,
        workspace_id: &e.workspace_id,
    };
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    serde_json::to_writer(Hashing(&mut h), &canonical)?;
    Ok(hex::encode(h.finalize()))
}
