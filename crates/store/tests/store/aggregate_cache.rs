//! A command on an aggregate this process wrote last decides on the state it
//! kept; what another process wrote since, an erasure, and every answer but
//! a new event are still decided on the log. Two `EventStore`s over one
//! database stand for two processes.

use tgcrm_domain::ticket::{
    ChangePriority, ChangeStatus, MessageVisibility, Ticket, TicketCommand,
};
use tgcrm_domain::values::{Priority, Status};
use tgcrm_store::tickets::{CommandError, execute};
use tgcrm_store::{Db, EventStore};
use tgcrm_testkit::both_backends;
use tgcrm_testkit::fixtures::{ctx, staff_says};

use crate::{clock, erase_customer_42, open_ticket, run};

fn priority(to: Priority) -> TicketCommand {
    TicketCommand::ChangePriority(ChangePriority { to })
}

fn status(to: Status) -> TicketCommand {
    TicketCommand::ChangeStatus(ChangeStatus { to, reason: None })
}

both_backends!(
    a_write_by_another_process_is_decided_on_before_the_next_append,
    |db: Db| async move {
        let (here, there) = (EventStore::new(db.clone()), EventStore::new(db.clone()));
        let clock = clock();
        // Given a ticket this process opened and keeps at version 2
        let (id, opened) = open_ticket(&here, &clock, "acme", "Cached").await;
        assert_eq!(opened.version, 2);
        assert_eq!(here.aggregates().len(), 1);
        // And a message another process added since
        run(
            &there,
            &clock,
            &id,
            staff_says(MessageVisibility::Public, "From there"),
        )
        .await;
        // When this process adds one
        let out = run(
            &here,
            &clock,
            &id,
            staff_says(MessageVisibility::Public, "From here"),
        )
        .await;
        // Then it lost the race for version 3 and decided again on the log
        assert_eq!(out.version, 4);
        assert_eq!(out.state.message_count, 3);
        // And a client's If-Match of the version the other process made is
        // checked against the log, not the kept state
        run(&there, &clock, &id, priority(Priority::High)).await;
        let mut c = ctx("acme");
        c.expected_version = Some(5);
        let out = execute(&here, &clock, &id, &c, priority(Priority::Urgent))
            .await
            .unwrap();
        assert_eq!((out.version, out.state.priority), (6, Priority::Urgent));
    }
);

both_backends!(
    refusals_and_repeats_are_answered_from_the_log,
    |db: Db| async move {
        let (here, there) = (EventStore::new(db.clone()), EventStore::new(db.clone()));
        let clock = clock();
        let (id, _) = open_ticket(&here, &clock, "acme", "Refusals").await;
        // Given a ticket this process keeps as open, which another process resolved
        run(&there, &clock, &id, status(Status::Resolved)).await;
        // When this process closes it (refused on an open ticket)
        let out = run(&here, &clock, &id, status(Status::Closed)).await;
        // Then it was decided on the resolved ticket of the log
        assert_eq!(out.state.status, Status::Closed);
        assert_eq!(out.version, 4);

        // Given a ticket this process keeps at high priority, which another
        // process set low
        let (id, _) = open_ticket(&here, &clock, "acme", "Repeats").await;
        run(&here, &clock, &id, priority(Priority::High)).await;
        run(&there, &clock, &id, priority(Priority::Low)).await;
        // When this process sets it high again (a repeat, by what it kept)
        let out = run(&here, &clock, &id, priority(Priority::High)).await;
        // Then the log's low priority was changed
        assert_eq!(out.events.len(), 1);
        assert_eq!((out.version, out.state.priority), (5, Priority::High));

        // And a refusal on the log's state is still a refusal
        let refused = execute(&here, &clock, &id, &ctx("acme"), status(Status::Closed)).await;
        assert!(
            matches!(refused, Err(CommandError::Refused(_))),
            "{refused:?}"
        );
    }
);

both_backends!(
    an_erased_customers_kept_ticket_is_not_used,
    |db: Db| async move {
        let here = EventStore::new(db.clone());
        let clock = clock();
        // Given a ticket of customer 42 ("Ada") this process keeps
        let (id, opened) = open_ticket(&here, &clock, "acme", "Forget me").await;
        assert_eq!(opened.state.customer.as_ref().unwrap().name.as_str(), "Ada");
        // When the customer is erased by another process (this one's kept
        // states are not cleared)
        erase_customer_42(&db, &clock).await;
        assert_eq!(here.aggregates().len(), 1);
        // Then the next command on the ticket answers with its erased state
        let out = run(
            &here,
            &clock,
            &id,
            staff_says(MessageVisibility::Public, "Bye"),
        )
        .await;
        let name = out
            .state
            .customer
            .as_ref()
            .unwrap()
            .name
            .as_str()
            .to_owned();
        assert_ne!(name, "Ada");
        assert_eq!(name, tgcrm_store::personal::ERASED);
    }
);

both_backends!(
    a_new_id_is_opened_without_a_load_and_a_taken_one_still_answers_from_the_log,
    |db: Db| async move {
        let (here, there) = (EventStore::new(db.clone()), EventStore::new(db.clone()));
        let clock = clock();
        // Given an id this process has just made
        let id = tgcrm_domain::TicketId::new();
        let open = || TicketCommand::Open(tgcrm_testkit::fixtures::open("acme", id, "Fresh"));
        here.aggregates().put_new::<Ticket>(&id.to_string());
        // When it opens the ticket, the ticket is opened
        let out = execute(&here, &clock, &id, &ctx("acme"), open())
            .await
            .unwrap();
        assert_eq!((out.version, out.events.len()), (2, 2));
        // And another process that took the same id for new (wrongly) and
        // opens it again gets the log's answer: a repeat that changes nothing
        there.aggregates().put_new::<Ticket>(&id.to_string());
        let again = execute(&there, &clock, &id, &ctx("acme"), open())
            .await
            .unwrap();
        assert!(again.events.is_empty());
        assert_eq!(again.version, 2);
        assert_eq!(again.state, out.state);
    }
);
