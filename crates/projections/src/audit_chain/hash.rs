//! The hash of one link: SHA-256 over the previous link's hash and a canonical
//! rendering of the event (every stored column but the database-assigned
//! position, with JSON keys sorted), hex-encoded.

use sha2::{Digest, Sha256};
use tgcrm_store::StoredEvent;

/// The `prev_hash` of a chain's first link.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

pub fn event_hash(prev_hash: &str, e: &StoredEvent) -> String {
    // serde_json's default map is ordered by key, so `to_string` is canonical
    // whatever key order the database handed back.
    let canonical = serde_json::json!({
        "event_id": e.event_id,
        "workspace_id": e.workspace_id,
        "aggregate_type": e.aggregate_type,
        "aggregate_id": e.aggregate_id,
        "sequence": e.sequence,
        "event_type": e.event_type,
        "event_version": e.event_version,
        // The stored form: personal fields stay sealed, so erasure keeps the chain valid.
        "payload": e.raw_payload.as_ref().unwrap_or(&e.payload),
        "actor": e.actor,
        "source": e.source,
        "correlation_id": e.correlation_id,
        "causation_id": e.causation_id,
        "request_id": e.request_id,
        "occurred_at": e.occurred_at.timestamp_micros(),
        "recorded_at": e.recorded_at.timestamp_micros(),
    });
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(canonical.to_string().as_bytes());
    hex::encode(h.finalize())
}
