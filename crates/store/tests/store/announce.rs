//! Wake-ups across processes (Postgres): an append does not notify inside
//! its own transaction (that would serialize every commit on the cluster);
//! the writing process announces it afterwards, and another process's
//! listener wakes its readers. Polling stays the correctness path, so these
//! only hold that the wake-up comes.

use std::time::Duration;

use sqlx::postgres::PgListener;
use tgcrm_store::EventStore;
use tgcrm_store::notify::Appended;
use tgcrm_store::shutdown::stop_signal;
use tokio::sync::watch;

use crate::{clock, open_ticket};

/// Long enough for a NOTIFY sent at a commit to arrive on loopback.
const ARRIVES: Duration = Duration::from_secs(5);

/// Wait for the receiver to change; false if it did not within `within`.
async fn woken(rx: &mut watch::Receiver<Appended>, within: Duration) -> bool {
    tokio::time::timeout(within, rx.changed()).await.is_ok()
}

/// Announce (as a CLI command does: no name) until every one of `listening`
/// was woken, then let what that sent more arrive and mark it seen: a
/// spawned listener's LISTEN is in place some time after its spawn, and a
/// NOTIFY sent before it is not delivered to it.
async fn until_listening(store: &EventStore, listening: &mut [&mut watch::Receiver<Appended>]) {
    let deadline = tokio::time::Instant::now() + ARRIVES;
    let mut heard = vec![false; listening.len()];
    while heard.iter().any(|h| !h) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "a listener never listened"
        );
        tgcrm_store::notify::announce(store.db()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        for (rx, h) in listening.iter_mut().zip(heard.iter_mut()) {
            if rx.has_changed().unwrap() {
                rx.borrow_and_update();
                *h = true;
            }
        }
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    for rx in listening.iter_mut() {
        rx.borrow_and_update();
    }
}

/// Drop whatever notifications `raw` holds.
async fn drain(raw: &mut PgListener) {
    while tokio::time::timeout(Duration::from_millis(200), raw.recv())
        .await
        .is_ok()
    {}
}

#[tokio::test]
async fn an_append_sends_no_notify_of_its_own_and_the_announcer_tells_other_processes() {
    let test_db = tgcrm_testkit::postgres().await;
    let writer = EventStore::new(test_db.db.clone());
    let reader = EventStore::new(test_db.connect_again().await);
    let mut raw = PgListener::connect_with(reader.db().pg().unwrap())
        .await
        .unwrap();
    raw.listen("crm_events").await.unwrap();
    let (stop, stopped) = stop_signal();
    let listener = reader.spawn_listener(stopped.clone()).unwrap();
    let mut reader_wakes = reader.subscribe();
    until_listening(&writer, &mut [&mut reader_wakes]).await;
    drain(&mut raw).await;

    // Without an announcer, the append itself tells nobody outside: the
    // first notification after it is the marker sent after it.
    open_ticket(&writer, &clock(), "acme", "Quiet").await;
    writer
        .db()
        .execute("SELECT pg_notify('crm_events', 'marker')", vec![])
        .await
        .unwrap();
    let first = tokio::time::timeout(ARRIVES, raw.recv()).await.unwrap();
    assert_eq!(
        first.unwrap().payload(),
        "marker",
        "the append notified inside its transaction"
    );
    assert!(woken(&mut reader_wakes, ARRIVES).await);

    // With an announcer, the writer's appends reach the other process's
    // readers, under the writer's name.
    let announcer = writer.spawn_announcer(stopped.clone()).unwrap();
    open_ticket(&writer, &clock(), "acme", "Loud").await;
    let told = tokio::time::timeout(ARRIVES, raw.recv())
        .await
        .expect("no announcement")
        .unwrap();
    assert!(!told.payload().is_empty(), "an announcer names itself");
    assert!(woken(&mut reader_wakes, ARRIVES).await);
    // Told by another process: the reader's own count of writes stays.
    assert_eq!(reader.subscribe().borrow().local, 0);

    stop.stop();
    announcer.await.unwrap();
    listener.await.unwrap();
    drop(raw);
    test_db.finish().await;
}

#[tokio::test]
async fn a_process_is_not_woken_twice_by_its_own_announcement() {
    let test_db = tgcrm_testkit::postgres().await;
    let store = EventStore::new(test_db.db.clone());
    let other = EventStore::new(test_db.connect_again().await);
    let (stop, stopped) = stop_signal();
    let listener = store.spawn_listener(stopped.clone()).unwrap();
    let announcer = store.spawn_announcer(stopped.clone()).unwrap();
    let other_listener = other.spawn_listener(stopped.clone()).unwrap();
    let mut own = store.subscribe();
    let mut others = other.subscribe();
    until_listening(&store, &mut [&mut own, &mut others]).await;

    open_ticket(&store, &clock(), "acme", "Mine").await;
    // The append woke its own readers directly...
    assert!(own.has_changed().unwrap());
    own.borrow_and_update();
    // ...and the other process's through the announcement...
    assert!(woken(&mut others, ARRIVES).await);
    // ...which, arriving here too, woke nobody a second time.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!own.has_changed().unwrap());

    stop.stop();
    for t in [listener, announcer, other_listener] {
        t.await.unwrap();
    }
    test_db.finish().await;
}
