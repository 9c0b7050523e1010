//! Read-your-writes: `Consistency::wait_for` returns once the live runner has
//! passed a command's position, and gives up at its deadline otherwise.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tgcrm_domain::Clock;
use tgcrm_domain::ticket::MessageVisibility;
use tgcrm_projections::consistency::WaitError;
use tgcrm_projections::runner::{self, RunnerConfig};
use tgcrm_projections::ticket_list::{TicketFilter, list};
use tgcrm_projections::{Consistency, conversation as conv};
use tgcrm_store::shutdown::stop_signal;
use tgcrm_store::{Db, Position, SystemClock};
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::staff_says;

use crate::support::{Desk, conversation, ticket_list};

const BOTH: [&str; 2] = ["ticket_list", "conversation"];

both_backends!(
    waiting_for_a_position_returns_once_the_runner_has_passed_it,
    |db: Db| async move {
        let desk = Desk::new(&db);
        let consistency = Consistency::default();
        let (stop, stopped) = stop_signal();
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let config = RunnerConfig {
            batch_size: 100,
            poll_interval: Duration::from_millis(50),
        };
        let runners: Vec<_> = [ticket_list(), conversation()]
            .into_iter()
            .map(|p| {
                tokio::spawn(runner::run(
                    desk.store.clone(),
                    p,
                    consistency.clone(),
                    clock.clone(),
                    config,
                    stopped.clone(),
                ))
            })
            .collect();

        let acme = TicketFilter {
            workspace_id: "acme".into(),
            limit: 10,
            ..Default::default()
        };
        for n in 0..3 {
            let id = desk.open("acme", &format!("ticket {n}"), |_| {}).await;
            let out = desk
                .run("acme", id, staff_says(MessageVisibility::Internal, "note"))
                .await;
            let position = out.position.unwrap();
            consistency
                .wait_for(&db, &BOTH, position, Duration::from_secs(20))
                .await
                .expect("the runners pass the write's position");
            // Read-your-writes: both read models already show the command.
            let page = list(&db, &acme).await.unwrap();
            assert_eq!(page.items.len(), n + 1);
            assert_eq!(page.items[0].ticket_id, id.to_string());
            assert_eq!(page.items[0].message_count, 2);
            let (messages, _) = conv::list(&db, "acme", &id.to_string(), true, 0, 10)
                .await
                .unwrap();
            assert_eq!(messages.len(), 2);
        }

        // Another process's view (nothing published locally) polls the checkpoints.
        let elsewhere = Consistency::default();
        let head = tgcrm_testkit::fixtures::newest(&db).await;
        elsewhere
            .wait_for(&db, &BOTH, head, Duration::from_secs(20))
            .await
            .expect("the checkpoints are past the head");

        // A position nobody will reach: the wait ends at its deadline.
        let started = Instant::now();
        let never = consistency
            .wait_for(
                &db,
                &BOTH,
                Position::new(i64::MAX, i64::MAX),
                Duration::from_millis(300),
            )
            .await;
        assert!(matches!(never, Err(WaitError::TimedOut)), "{never:?}");
        let waited = started.elapsed();
        assert!(waited >= Duration::from_millis(300), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "bounded: {waited:?}");

        // With the runners stopped, a new write is never passed.
        stop.stop();
        for r in runners {
            tokio::time::timeout(Duration::from_secs(10), r)
                .await
                .expect("runners stop when asked")
                .unwrap();
        }
        let id = desk.open("acme", "after the runners stopped", |_| {}).await;
        let position = desk
            .run("acme", id, staff_says(MessageVisibility::Public, "hi"))
            .await
            .position
            .unwrap();
        let late = consistency
            .wait_for(&db, &["ticket_list"], position, Duration::from_millis(200))
            .await;
        assert!(matches!(late, Err(WaitError::TimedOut)), "{late:?}");
    }
);
