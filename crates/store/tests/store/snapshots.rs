//! Snapshots: written every `SNAPSHOT_EVERY` events in the append's
//! transaction; loading from one gives what folding the whole history gives.

use chrono::Duration;
use tgcrm_domain::Clock;
use tgcrm_domain::ticket::{MessageVisibility, Ticket};
use tgcrm_store::load::{load_ticket, load_ticket_as_of};
use tgcrm_store::tickets::SNAPSHOT_EVERY;
use tgcrm_store::{Db, EventStore, args};
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::{customer_says, staff_says};

use crate::{clock, fold_stream, open_ticket, run};

#[derive(sqlx::FromRow)]
struct SnapshotRow {
    last_sequence: i64,
    payload: serde_json::Value,
}

async fn snapshot(db: &Db, id: &str) -> Option<SnapshotRow> {
    db.fetch_optional(
        "SELECT last_sequence, payload FROM snapshots WHERE aggregate_type = 'ticket' AND aggregate_id = $1",
        args![id],
    )
    .await
    .unwrap()
}

both_backends!(
    a_long_ticket_is_snapshotted_and_loads_as_its_full_history_folds,
    |db: Db| async move {
        let store = EventStore::new(db.clone());
        let clock = clock();
        let (id, _) = open_ticket(&store, &clock, "acme", "A long conversation").await;
        let key = id.to_string();

        // Up to one event short of the first snapshot: none yet.
        let mut version = 2;
        while version < SNAPSHOT_EVERY - 1 {
            clock.advance(Duration::seconds(1));
            version = run(
                &store,
                &clock,
                &id,
                customer_says(&format!("message {version}")),
            )
            .await
            .version;
        }
        assert!(snapshot(&db, &key).await.is_none());

        // Crossing the boundary writes one, at exactly the boundary's version.
        let extra = 20;
        for n in 0..extra {
            clock.advance(Duration::seconds(1));
            let visibility = if n % 3 == 0 {
                MessageVisibility::Internal
            } else {
                MessageVisibility::Public
            };
            version = run(
                &store,
                &clock,
                &id,
                staff_says(visibility, &format!("reply {n}")),
            )
            .await
            .version;
        }
        assert_eq!(version, SNAPSHOT_EVERY - 1 + extra);
        let snap = snapshot(&db, &key).await.expect("a snapshot was written");
        assert_eq!(snap.last_sequence, SNAPSHOT_EVERY);
        let snapped: Ticket = serde_json::from_value(snap.payload).unwrap();
        assert_eq!(snapped.message_count, (SNAPSHOT_EVERY - 1) as u64);

        // Snapshot + tail = the fold of every event = a replay without the snapshot.
        let loaded = load_ticket(&db, &id).await.unwrap();
        let (folded, folded_version) = fold_stream(&db, &id).await;
        assert_eq!(loaded.version, version);
        assert_eq!(folded_version, version);
        assert_eq!(loaded.state, folded);
        let replayed = load_ticket_as_of(&db, &id, clock.now() + Duration::days(1))
            .await
            .unwrap();
        assert_eq!(replayed.state, folded);
        assert_eq!(replayed.version, version);

        // And loading really starts from the snapshot: doctor it, and the
        // doctored value shows through (the replay is unaffected).
        let mut doctored = snapped.clone();
        doctored.message_count = 1_000_000;
        db.execute(
            "UPDATE snapshots SET payload = $1 WHERE aggregate_type = 'ticket' AND aggregate_id = $2",
            args![serde_json::to_value(&doctored).unwrap(), key.as_str()],
        )
        .await
        .unwrap();
        let from_snapshot = load_ticket(&db, &id).await.unwrap();
        assert_eq!(
            from_snapshot.state.message_count,
            1_000_000 + (version - SNAPSHOT_EVERY) as u64
        );
        let replayed = load_ticket_as_of(&db, &id, clock.now() + Duration::days(1))
            .await
            .unwrap();
        assert_eq!(replayed.state, folded);
    }
);
