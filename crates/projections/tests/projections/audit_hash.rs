//! The audit chain's link hash renders each event without copying it. Chains
//! already written must still verify: the hash must equal, byte for byte,
//! the one earlier releases wrote (a `json!` object rendered with
//! `to_string`), for real events, sealed personal fields included.

use sha2::{Digest, Sha256};
use tgcrm_domain::ticket::MessageVisibility;
use tgcrm_projections::audit_chain::{GENESIS, event_hash};
use tgcrm_store::reader::{EventFilter, read_after};
use tgcrm_store::{Db, Position, StoredEvent};
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::{customer_says, staff_says, wait_until_readable};

use crate::support::Desk;

/// How links were hashed before.
fn hash_as_written(prev_hash: &str, e: &StoredEvent) -> String {
    let canonical = serde_json::json!({
        "event_id": e.event_id,
        "workspace_id": e.workspace_id,
        "aggregate_type": e.aggregate_type,
        "aggregate_id": e.aggregate_id,
        "sequence": e.sequence,
        "event_type": e.event_type,
        "event_version": e.event_version,
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

both_backends!(
    links_hash_as_every_earlier_release_wrote_them,
    |db: Db| async move {
        // Given events with unicode, quotes, control characters and sealed
        // personal fields
        let desk = Desk::new(&db);
        let id = desk
            .open("acme", "Принтер \"HP\" не печатает\t🙂", |_| {})
            .await;
        desk.run("acme", id, customer_says("line one\nline \\two\u{7}"))
            .await;
        desk.run(
            "acme",
            id,
            staff_says(MessageVisibility::Internal, "{\"not\": \"json\"}"),
        )
        .await;
        wait_until_readable(&db).await;
        let events = read_after(&db, Position::START, 100, &EventFilter::default())
            .await
            .unwrap();
        assert!(events.len() >= 4, "{events:?}");
        assert!(
            events.iter().any(|e| e.raw_payload.is_some()),
            "some payload has sealed personal fields"
        );
        // Then each link hashes as it always did, along the chain
        let mut prev = GENESIS.to_owned();
        for e in &events {
            let hash = event_hash(&prev, e).unwrap();
            assert_eq!(hash, hash_as_written(&prev, e), "{e:?}");
            prev = hash;
        }
    }
);
