//! Given/when/then tests of the team aggregate, refusals included.

use chrono::{TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::queue::{Placement, Reorder};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn team_id() -> TeamId {
    TeamId::from_uuid(Uuid::from_u128(0x7e01))
}

fn agent(n: u128) -> AgentId {
    AgentId::from_uuid(Uuid::from_u128(0xa000 + n))
}

fn ticket(n: u128) -> TicketId {
    TicketId::from_uuid(Uuid::from_u128(0x7100 + n))
}

fn name(s: &str) -> ResourceName {
    ResourceName::parse(s).unwrap()
}

fn create() -> TeamCommand {
    TeamCommand::Create {
        team_id: team_id(),
        workspace_id: WorkspaceId::parse("acme").unwrap(),
        name: name("Billing"),
        strategy: Strategy::RoundRobin,
        default_capacity: Some(3),
        lead: None,
    }
}

struct When {
    state: Team,
    outcome: Result<Vec<TeamEvent>, TeamError>,
}

fn given(history: Vec<TeamEvent>) -> Given {
    let mut state = Team::default();
    for e in history {
        state.apply(e);
    }
    Given(state)
}

struct Given(Team);

impl Given {
    fn when(self, command: TeamCommand) -> When {
        let outcome = self.0.decide(command, now());
        When {
            state: self.0,
            outcome,
        }
    }
}

impl When {
    #[track_caller]
    fn then(self, expected: Vec<TeamEvent>) -> Team {
        let events = self.outcome.expect("expected events, got a refusal");
        assert_eq!(events, expected);
        let mut state = self.state;
        for e in events {
            state.apply(e);
        }
        state
    }

    #[track_caller]
    fn then_error(self, expected: TeamError) {
        assert_eq!(self.outcome, Err(expected));
    }
}

fn created() -> Vec<TeamEvent> {
    Team::default().decide(create(), now()).unwrap()
}

#[test]
fn creating_a_team_records_its_name_strategy_and_capacity() {
    let team = given(vec![]).when(create()).then(vec![TeamEvent::Created {
        team_id: team_id(),
        workspace_id: WorkspaceId::parse("acme").unwrap(),
        name: name("Billing"),
        strategy: Strategy::RoundRobin,
        default_capacity: Some(3),
        lead: None,
        at: now(),
    }]);
    assert_eq!(team.queue.strategy, Strategy::RoundRobin);
    assert_eq!(team.queue.default_capacity, Some(3));
    assert!(!team.queue.paused);
}

#[test]
fn creating_the_same_team_again_changes_nothing() {
    given(created()).when(create()).then(vec![]);
}

#[test]
fn a_capacity_out_of_range_is_refused() {
    let mut c = create();
    if let TeamCommand::Create {
        default_capacity, ..
    } = &mut c
    {
        *default_capacity = Some(0);
    }
    given(vec![])
        .when(c)
        .then_error(TeamError::Queue(QueueError::BadCapacity));
    given(created())
        .when(TeamCommand::Queue(QueueCommand::SetCapacity(Some(1001))))
        .then_error(TeamError::Queue(QueueError::BadCapacity));
}

#[test]
fn commands_on_a_team_that_does_not_exist_are_refused() {
    given(vec![])
        .when(TeamCommand::Queue(QueueCommand::Pause))
        .then_error(TeamError::NotFound);
    given(vec![])
        .when(TeamCommand::Update(TeamUpdate::default()))
        .then_error(TeamError::NotFound);
}

#[test]
fn an_update_records_only_what_changed() {
    given(created())
        .when(TeamCommand::Update(TeamUpdate {
            name: Some(name("Billing")),
            lead: Some(Some(agent(1))),
            strategy: Some(Strategy::Skills),
            default_capacity: Some(Some(3)),
        }))
        .then(vec![
            TeamEvent::LeadChanged {
                from: None,
                to: Some(agent(1)),
                at: now(),
            },
            TeamEvent::StrategyChanged {
                from: Strategy::RoundRobin,
                to: Strategy::Skills,
                at: now(),
            },
        ]);
    given(created())
        .when(TeamCommand::Update(TeamUpdate {
            name: Some(name("Payments")),
            default_capacity: Some(None),
            ..TeamUpdate::default()
        }))
        .then(vec![
            TeamEvent::Renamed {
                from: name("Billing"),
                to: name("Payments"),
                at: now(),
            },
            TeamEvent::CapacityChanged {
                from: Some(3),
                to: None,
                at: now(),
            },
        ]);
}

#[test]
fn pausing_and_resuming_the_queue() {
    let paused = given(created())
        .when(TeamCommand::Queue(QueueCommand::Pause))
        .then(vec![TeamEvent::QueuePaused { at: now() }]);
    assert!(paused.queue.paused);
    let mut history = created();
    history.push(TeamEvent::QueuePaused { at: now() });
    given(history.clone())
        .when(TeamCommand::Queue(QueueCommand::Pause))
        .then(vec![]);
    let resumed = given(history)
        .when(TeamCommand::Queue(QueueCommand::Resume))
        .then(vec![TeamEvent::QueueResumed { at: now() }]);
    assert!(!resumed.queue.paused);
    given(created())
        .when(TeamCommand::Queue(QueueCommand::Resume))
        .then(vec![]);
}

#[test]
fn moving_a_ticket_keeps_the_tickets_ahead_of_it_in_place() {
    let current = vec![ticket(1), ticket(2), ticket(3), ticket(4)];
    given(created())
        .when(TeamCommand::Queue(QueueCommand::Reorder(Reorder {
            ticket_id: ticket(4),
            placement: Placement::Position(2),
            current,
        })))
        .then(vec![TeamEvent::QueueReordered {
            ticket_id: ticket(4),
            position: Some(2),
            order: vec![ticket(1), ticket(4)],
            at: now(),
        }]);
}

#[test]
fn reordering_a_ticket_that_is_not_in_the_queue_is_refused() {
    given(created())
        .when(TeamCommand::Queue(QueueCommand::Reorder(Reorder {
            ticket_id: ticket(9),
            placement: Placement::Position(1),
            current: vec![ticket(1)],
        })))
        .then_error(TeamError::Queue(QueueError::TicketNotQueued));
    given(created())
        .when(TeamCommand::Queue(QueueCommand::Reorder(Reorder {
            ticket_id: ticket(1),
            placement: Placement::Position(0),
            current: vec![ticket(1)],
        })))
        .then_error(TeamError::Queue(QueueError::BadPosition));
}

#[test]
fn events_keep_their_frozen_names() {
    for (e, name) in [
        (TeamEvent::QueuePaused { at: now() }, "TeamQueuePaused"),
        (TeamEvent::QueueResumed { at: now() }, "TeamQueueResumed"),
    ] {
        assert_eq!(e.type_name(), name);
        assert!(serde_json::to_value(&e).unwrap().get(name).is_some());
    }
    let created = created().remove(0);
    let v = serde_json::to_value(&created).unwrap();
    assert!(v.get("TeamCreated").is_some());
    let back: TeamEvent = serde_json::from_value(v).unwrap();
    assert_eq!(back, created);
}
