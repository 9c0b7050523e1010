//! Automatic assignment on the ticket: handed out only while still waiting,
//! and the decision is kept on the event.

use chrono::{DateTime, TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::ids::{AgentId, MessageId, TeamId, TicketId, WorkspaceId};
use crate::routing::{AssignmentDecision, Candidate, Request, Strategy, choose};
use crate::values::{
    Customer, CustomerName, MessageText, Priority, Status, Subject, TelegramUserId,
};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn agent(n: u128) -> AgentId {
    AgentId::from_uuid(Uuid::from_u128(0xa000 + n))
}

fn team(n: u128) -> TeamId {
    TeamId::from_uuid(Uuid::from_u128(0x7e00 + n))
}

fn open() -> Ticket {
    let command = TicketCommand::Open(OpenTicket {
        ticket_id: TicketId::from_uuid(Uuid::from_u128(0x7100)),
        workspace_id: WorkspaceId::parse("acme").unwrap(),
        subject: Subject::parse("Refund").unwrap(),
        customer: Customer {
            telegram_user_id: TelegramUserId::parse(4242).unwrap(),
            name: CustomerName::parse("Alice").unwrap(),
            username: None,
        },
        priority: Priority::Normal,
        channel: Channel::Api,
        tags: Default::default(),
        fields: Default::default(),
        first_message: AddMessage {
            message_id: MessageId::from_uuid(Uuid::from_u128(0x3001)),
            author: Author::Customer,
            visibility: MessageVisibility::Public,
            text: MessageText::parse("Please refund").unwrap(),
            attachments: vec![],
        },
        follows_up: None,
    });
    let mut t = Ticket::default();
    for e in decide(&t, command, now()).unwrap() {
        t.apply(e);
    }
    t
}

fn decision(team_id: Option<TeamId>) -> AssignmentDecision {
    choose(
        &Request {
            strategy: Strategy::LeastLoaded,
            team_id,
            needs: Default::default(),
            released_by: None,
        },
        &[Candidate {
            agent_id: agent(1),
            availability: crate::agent::Availability::Online,
            load: 0,
            capacity: 2,
            skills: Default::default(),
            last_assigned: None,
        }],
    )
}

fn auto(team_id: Option<TeamId>) -> TicketCommand {
    TicketCommand::AutoAssign(AutoAssign {
        agent: agent(1),
        decision: decision(team_id),
    })
}

fn with(mut t: Ticket, events: Vec<TicketEvent>) -> Ticket {
    for e in events {
        t.apply(e);
    }
    t
}

#[test]
fn a_waiting_ticket_is_assigned_with_the_decision_on_the_event() {
    let events = decide(&open(), auto(None), now()).unwrap();
    assert_eq!(
        events,
        vec![TicketEvent::Assigned {
            agent_id: Some(agent(1)),
            team_id: None,
            previous_agent_id: None,
            previous_team_id: None,
            note: None,
            at: now(),
            decision: Some(decision(None)),
        }]
    );
    let v = serde_json::to_value(&events[0]).unwrap();
    assert_eq!(
        v["TicketAssigned"]["decision"]["strategy"],
        serde_json::json!("least_loaded")
    );
}

#[test]
fn a_ticket_someone_else_assigned_meanwhile_is_left_alone() {
    let manual = decide(
        &open(),
        TicketCommand::Assign(Assign {
            agent: Some(agent(2)),
            team: None,
            note: None,
        }),
        now(),
    )
    .unwrap();
    let t = with(open(), manual);
    assert_eq!(decide(&t, auto(None), now()).unwrap(), vec![]);
}

#[test]
fn a_ticket_that_moved_to_another_queue_or_was_resolved_is_left_alone() {
    let moved = decide(
        &open(),
        TicketCommand::Assign(Assign {
            agent: None,
            team: Some(team(1)),
            note: None,
        }),
        now(),
    )
    .unwrap();
    let t = with(open(), moved);
    assert_eq!(decide(&t, auto(None), now()).unwrap(), vec![]);
    assert_eq!(decide(&t, auto(Some(team(1))), now()).unwrap().len(), 1);

    let resolved = decide(
        &open(),
        TicketCommand::ChangeStatus(ChangeStatus {
            to: Status::Resolved,
            reason: None,
        }),
        now(),
    )
    .unwrap();
    let t = with(open(), resolved);
    assert_eq!(decide(&t, auto(None), now()).unwrap(), vec![]);
}

#[test]
fn automatic_assignment_of_a_ticket_that_does_not_exist_is_refused() {
    assert_eq!(
        decide(&Ticket::default(), auto(None), now()),
        Err(TicketError::NotFound)
    );
}

#[test]
fn an_assignment_stored_before_decisions_existed_still_reads() {
    let old = serde_json::json!({"TicketAssigned": {
        "agent_id": "0190a5a4-0000-7000-8000-000000000001",
        "team_id": null,
        "previous_agent_id": null,
        "previous_team_id": null,
        "at": "2026-01-01T00:00:00Z"
    }});
    let e: TicketEvent = serde_json::from_value(old).unwrap();
    assert!(matches!(e, TicketEvent::Assigned { decision: None, .. }));
    let manual = TicketEvent::Assigned {
        agent_id: None,
        team_id: None,
        previous_agent_id: None,
        previous_team_id: None,
        note: None,
        at: now(),
        decision: None,
    };
    let v = serde_json::to_value(&manual).unwrap();
    assert!(
        v["TicketAssigned"].get("decision").is_none(),
        "a manual assignment stores no decision field"
    );
}
