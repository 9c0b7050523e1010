//! A queue row's SLA due time, folded from the ticket's own events: what
//! queues order by after priority.

use chrono::{DateTime, Duration, Utc};
use tgcrm_domain::ids::{AgentId, MessageId, SlaPolicyId, TicketId, WorkspaceId};
use tgcrm_domain::sla::{Calendar, SlaTargets};
use tgcrm_domain::ticket::{Author, Channel, MessageVisibility, StatusChangeCause, TicketEvent};
use tgcrm_domain::values::{
    Customer, CustomerName, Fields, Priority, Status, Subject, TelegramUserId,
};
use uuid::Uuid;

use super::row::{QueueRow, evolve};

fn at(minutes: i64) -> DateTime<Utc> {
    "2026-03-02T09:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(minutes)
}

fn opened() -> TicketEvent {
    TicketEvent::Opened {
        ticket_id: TicketId::from_uuid(Uuid::from_u128(0x7100)),
        workspace_id: WorkspaceId::parse("acme").unwrap(),
        subject: Subject::parse("Broken").unwrap(),
        customer: Customer {
            telegram_user_id: TelegramUserId::parse(42).unwrap(),
            name: CustomerName::parse("Ann").unwrap(),
            username: None,
        },
        priority: Priority::Normal,
        channel: Channel::Telegram,
        tags: Default::default(),
        fields: Fields::default(),
        follows_up: None,
        at: at(0),
    }
}

/// First response 60 min, resolution 120 min.
fn applied(minutes: i64) -> TicketEvent {
    TicketEvent::SlaPolicyApplied {
        policy_id: SlaPolicyId::from_uuid(Uuid::from_u128(0x5100)),
        policy_version: 1,
        policy_name: "Standard".into(),
        priority: Priority::Normal,
        targets: SlaTargets::parse(Some(3600), None, Some(7200)).unwrap(),
        calendar: Calendar::AlwaysOpen,
        warning_percent: 80,
        at: at(minutes),
    }
}

fn reply(minutes: i64) -> TicketEvent {
    TicketEvent::MessageAdded {
        message_id: MessageId::from_uuid(Uuid::from_u128(0x3000 + minutes as u128)),
        author: Author::Agent {
            agent_id: AgentId::from_uuid(Uuid::from_u128(0xa001)),
        },
        visibility: MessageVisibility::Public,
        text: "On it".into(),
        attachments: vec![],
        at: at(minutes),
        template: None,
    }
}

fn status(from: Status, to: Status, minutes: i64) -> TicketEvent {
    TicketEvent::StatusChanged {
        from,
        to,
        cause: StatusChangeCause::Manual,
        reason: None,
        at: at(minutes),
    }
}

/// The row after `events`, numbered from 1.
fn folded(events: Vec<TicketEvent>) -> Option<QueueRow> {
    let mut row = None;
    for (seq, event) in (1..).zip(events) {
        evolve(&mut row, "t1", seq, event).unwrap();
    }
    row
}

#[test]
fn a_ticket_without_a_policy_has_no_due_time() {
    let row = folded(vec![opened(), reply(5)]).unwrap();
    assert_eq!(row.sla_due_at, None);
}

#[test]
fn the_first_target_not_yet_met_is_the_due_time() {
    let row = folded(vec![opened(), applied(0)]).unwrap();
    assert_eq!(row.sla_due_at, Some(at(60)), "first response comes first");

    let row = folded(vec![opened(), applied(0), reply(10)]).unwrap();
    assert_eq!(row.sla_due_at, Some(at(120)), "then resolution");
}

#[test]
fn a_paused_clock_has_no_due_time_and_resuming_pushes_it_back() {
    let waiting = status(Status::Open, Status::WaitingOnCustomer, 10);
    let row = folded(vec![opened(), applied(0), waiting.clone()]).unwrap();
    assert_eq!(row.sla_due_at, None);

    let back = status(Status::WaitingOnCustomer, Status::Open, 40);
    let row = folded(vec![opened(), applied(0), waiting, back]).unwrap();
    assert_eq!(row.sla_due_at, Some(at(90)), "30 paused minutes later");
}

#[test]
fn an_event_already_folded_moves_nothing() {
    let mut row = folded(vec![opened(), applied(0)]);
    let fx = evolve(&mut row, "t1", 2, reply(10)).unwrap();
    assert!(!fx.written);
    assert_eq!(row.unwrap().sla_due_at, Some(at(60)));
}
