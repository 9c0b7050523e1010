//! A ticket's service-level clocks and the decisions made on them: applying
//! a policy, recording warnings and breaches once and only when their moment
//! has come, pauses while waiting on the customer, resolution cycles.

use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

use crate::ids::{AgentId, MessageId, SlaPolicyId, TicketId, WorkspaceId};
use crate::sla::{Calendar, DeadlineState, Metric, SlaTargets};
use crate::ticket::{
    ApplySla, Author, Channel, MessageVisibility, RecordSla, SlaMoment, StatusChangeCause, Ticket,
    TicketCommand, TicketError, TicketEvent, decide,
};
use crate::values::{Customer, CustomerName, Fields, Priority, Status, Subject, TelegramUserId};

pub(crate) fn t0() -> DateTime<Utc> {
    "2026-03-02T09:00:00Z".parse().unwrap()
}

pub(crate) fn at(minutes: i64) -> DateTime<Utc> {
    t0() + Duration::minutes(minutes)
}

pub(crate) fn policy_id() -> SlaPolicyId {
    SlaPolicyId::from_uuid(Uuid::from_u128(0x5100))
}

pub(crate) fn opened() -> TicketEvent {
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
        at: t0(),
    }
}

/// First response 60 min, next response 30 min, resolution 120 min, warn at 80 %.
pub(crate) fn targets() -> SlaTargets {
    SlaTargets::parse(Some(3600), Some(1800), Some(7200)).unwrap()
}

pub(crate) fn apply_command(version: i64) -> ApplySla {
    ApplySla {
        policy_id: policy_id(),
        policy_version: version,
        policy_name: "Standard".into(),
        calendar: Calendar::AlwaysOpen,
        warning_percent: 80,
        targets: targets(),
    }
}

pub(crate) fn applied() -> TicketEvent {
    TicketEvent::SlaPolicyApplied {
        policy_id: policy_id(),
        policy_version: 1,
        policy_name: "Standard".into(),
        priority: Priority::Normal,
        targets: targets(),
        calendar: Calendar::AlwaysOpen,
        warning_percent: 80,
        at: t0(),
    }
}

pub(crate) fn message(author: Author, visibility: MessageVisibility, minutes: i64) -> TicketEvent {
    TicketEvent::MessageAdded {
        message_id: MessageId::from_uuid(Uuid::from_u128(0x3000 + minutes as u128)),
        author,
        visibility,
        text: "…".into(),
        attachments: vec![],
        at: at(minutes),
        template: None,
    }
}

pub(crate) fn agent() -> Author {
    Author::Agent {
        agent_id: AgentId::from_uuid(Uuid::from_u128(0xa001)),
    }
}

pub(crate) fn status(from: Status, to: Status, minutes: i64) -> TicketEvent {
    TicketEvent::StatusChanged {
        from,
        to,
        cause: StatusChangeCause::Manual,
        reason: None,
        at: at(minutes),
    }
}

pub(crate) fn ticket(history: &[TicketEvent]) -> Ticket {
    Ticket::from_events(history)
}

fn record(metric: Metric, moment: SlaMoment) -> TicketCommand {
    TicketCommand::RecordSla(RecordSla { metric, moment })
}

fn decided(history: &[TicketEvent], command: TicketCommand, minutes: i64) -> Vec<TicketEvent> {
    decide(&ticket(history), command, at(minutes)).unwrap()
}

#[test]
fn applying_a_policy_records_its_version_and_targets_once() {
    let events = decided(&[opened()], TicketCommand::ApplySla(apply_command(1)), 0);
    assert_eq!(events, vec![applied()]);
    assert!(
        decided(
            &[opened(), applied()],
            TicketCommand::ApplySla(apply_command(1)),
            1
        )
        .is_empty()
    );
    // A new version of the policy is recorded again.
    let events = decided(
        &[opened(), applied()],
        TicketCommand::ApplySla(apply_command(2)),
        5,
    );
    assert!(matches!(
        events.as_slice(),
        [TicketEvent::SlaPolicyApplied {
            policy_version: 2,
            ..
        }]
    ));
}

#[test]
fn deadlines_count_from_opening_and_warn_at_the_threshold() {
    let t = ticket(&[opened(), applied()]);
    let first = t.sla.deadline(Metric::FirstResponse).unwrap();
    assert_eq!(first.due_at, Some(at(60)));
    assert_eq!(first.warn_at, Some(at(48)));
    assert_eq!(first.state, DeadlineState::Ok);
    let resolution = t.sla.deadline(Metric::Resolution).unwrap();
    assert_eq!(resolution.due_at, Some(at(120)));
    // No customer message has followed an answer yet: no next-response clock.
    assert!(t.sla.deadline(Metric::NextResponse).is_none());
    // Without a policy there are clocks but no deadlines.
    assert!(ticket(&[opened()]).sla.deadlines().is_empty());
}

#[test]
fn a_warning_is_recorded_once_and_only_from_its_moment() {
    let history = vec![opened(), applied()];
    assert!(
        decided(
            &history,
            record(Metric::FirstResponse, SlaMoment::Warning),
            47
        )
        .is_empty()
    );
    let events = decided(
        &history,
        record(Metric::FirstResponse, SlaMoment::Warning),
        48,
    );
    assert_eq!(
        events,
        vec![TicketEvent::SlaWarning {
            metric: Metric::FirstResponse,
            cycle: 1,
            policy_id: policy_id(),
            policy_version: 1,
            target_seconds: 3600,
            warn_at: Some(at(48)),
            due_at: at(60),
            at: at(48),
        }]
    );
    let mut after = history.clone();
    after.extend(events);
    assert_eq!(
        ticket(&after)
            .sla
            .deadline(Metric::FirstResponse)
            .unwrap()
            .state,
        DeadlineState::Warning
    );
    assert!(
        decided(
            &after,
            record(Metric::FirstResponse, SlaMoment::Warning),
            49
        )
        .is_empty()
    );
}

#[test]
fn a_breach_is_recorded_once_at_the_due_time() {
    let history = vec![opened(), applied()];
    assert!(
        decided(
            &history,
            record(Metric::FirstResponse, SlaMoment::Breach),
            59
        )
        .is_empty()
    );
    let events = decided(
        &history,
        record(Metric::FirstResponse, SlaMoment::Breach),
        60,
    );
    assert_eq!(
        events,
        vec![TicketEvent::SlaBreached {
            metric: Metric::FirstResponse,
            cycle: 1,
            policy_id: policy_id(),
            policy_version: 1,
            target_seconds: 3600,
            due_at: at(60),
            at: at(60),
        }]
    );
    let mut after = history.clone();
    after.extend(events);
    assert_eq!(
        ticket(&after)
            .sla
            .deadline(Metric::FirstResponse)
            .unwrap()
            .state,
        DeadlineState::Breached
    );
    assert!(decided(&after, record(Metric::FirstResponse, SlaMoment::Breach), 61).is_empty());
    // A warning after the due time says nothing the breach does not.
    assert!(
        decided(
            &after,
            record(Metric::FirstResponse, SlaMoment::Warning),
            61
        )
        .is_empty()
    );
}

#[test]
fn only_a_human_agents_public_reply_meets_the_first_response() {
    let system = Author::System { name: "bot".into() };
    let history = vec![
        opened(),
        applied(),
        message(agent(), MessageVisibility::Internal, 5),
        message(system, MessageVisibility::Public, 6),
    ];
    assert_eq!(
        ticket(&history)
            .sla
            .deadline(Metric::FirstResponse)
            .unwrap()
            .state,
        DeadlineState::Ok
    );
    let mut replied = history.clone();
    replied.push(message(agent(), MessageVisibility::Public, 20));
    let d = ticket(&replied)
        .sla
        .deadline(Metric::FirstResponse)
        .unwrap();
    assert_eq!(d.state, DeadlineState::Met);
    assert_eq!(d.met_at, Some(at(20)));
    // A met target is never breached.
    assert!(
        decided(
            &replied,
            record(Metric::FirstResponse, SlaMoment::Breach),
            90
        )
        .is_empty()
    );
    let staff = Author::Staff {
        token_id: "tok".into(),
    };
    let mut by_staff = history;
    by_staff.push(message(staff, MessageVisibility::Public, 21));
    assert_eq!(
        ticket(&by_staff)
            .sla
            .deadline(Metric::FirstResponse)
            .unwrap()
            .met_at,
        Some(at(21))
    );
}

#[test]
fn waiting_on_the_customer_pauses_the_clocks_and_moves_the_due_time() {
    let waiting = vec![
        opened(),
        applied(),
        status(Status::Open, Status::WaitingOnCustomer, 30),
    ];
    let d = ticket(&waiting)
        .sla
        .deadline(Metric::FirstResponse)
        .unwrap();
    assert_eq!(d.state, DeadlineState::Paused);
    assert_eq!(d.due_at, None);
    assert!(
        decided(
            &waiting,
            record(Metric::FirstResponse, SlaMoment::Breach),
            100
        )
        .is_empty()
    );
    // 30 min counted before the pause, 90 min paused: due at 120 + 30 = 150.
    let mut resumed = waiting.clone();
    resumed.push(status(Status::WaitingOnCustomer, Status::Open, 120));
    let t = ticket(&resumed);
    assert_eq!(
        t.sla.deadline(Metric::FirstResponse).unwrap().due_at,
        Some(at(150))
    );
    // The resolution clock paused too: 120 + 90 = 210.
    assert_eq!(
        t.sla.deadline(Metric::Resolution).unwrap().due_at,
        Some(at(210))
    );
}

#[test]
fn a_reopened_ticket_starts_a_new_resolution_cycle_and_keeps_the_first() {
    let mut history = vec![
        opened(),
        applied(),
        message(agent(), MessageVisibility::Public, 10),
        status(Status::Open, Status::Resolved, 60),
    ];
    let t = ticket(&history);
    let d = t.sla.deadline(Metric::Resolution).unwrap();
    assert_eq!(
        (d.cycle, d.state, d.met_at),
        (1, DeadlineState::Met, Some(at(60)))
    );
    // The customer writes again: the ticket reopens and a new cycle starts.
    history.push(message(Author::Customer, MessageVisibility::Public, 200));
    history.push(TicketEvent::StatusChanged {
        from: Status::Resolved,
        to: Status::Open,
        cause: StatusChangeCause::CustomerReplied,
        reason: None,
        at: at(200),
    });
    let t = ticket(&history);
    let d = t.sla.deadline(Metric::Resolution).unwrap();
    assert_eq!(
        (d.cycle, d.started_at, d.due_at),
        (2, at(200), Some(at(320)))
    );
    // … and the customer's message starts a next-response clock.
    let next = t.sla.deadline(Metric::NextResponse).unwrap();
    assert_eq!((next.cycle, next.due_at), (1, Some(at(230))));
}

#[test]
fn closing_stops_every_clock() {
    let history = vec![
        opened(),
        applied(),
        status(Status::Open, Status::Resolved, 30),
        status(Status::Resolved, Status::Closed, 40),
    ];
    let t = ticket(&history);
    assert_eq!(
        t.sla.deadline(Metric::FirstResponse).unwrap().state,
        DeadlineState::Stopped
    );
    assert_eq!(
        decide(&t, record(Metric::FirstResponse, SlaMoment::Breach), at(90)),
        Err(TicketError::Closed)
    );
}

#[test]
fn business_hours_carry_into_the_decision() {
    // Opened Friday 2026-03-06 16:00 CET with a 2 h first-response target in
    // Berlin office hours: due Monday 10:00 CET (09:00Z).
    let weekly: Vec<serde_json::Value> = ["mon", "tue", "wed", "thu", "fri"]
        .iter()
        .map(|d| serde_json::json!({"day": d, "start": "09:00", "end": "17:00"}))
        .collect();
    let calendar: Calendar = serde_json::from_value(serde_json::json!({
        "kind": "business_hours", "time_zone": "Europe/Berlin", "weekly": weekly,
    }))
    .unwrap();
    let friday: DateTime<Utc> = "2026-03-06T15:00:00Z".parse().unwrap();
    let mut open = opened();
    if let TicketEvent::Opened { at, .. } = &mut open {
        *at = friday;
    }
    let history = vec![
        open,
        TicketEvent::SlaPolicyApplied {
            policy_id: policy_id(),
            policy_version: 1,
            policy_name: "Office".into(),
            priority: Priority::Normal,
            targets: SlaTargets::parse(Some(7200), None, None).unwrap(),
            calendar,
            warning_percent: 50,
            at: friday,
        },
    ];
    let d = ticket(&history)
        .sla
        .deadline(Metric::FirstResponse)
        .unwrap();
    assert_eq!(d.due_at, Some("2026-03-09T09:00:00Z".parse().unwrap()));
    // 50 %: one hour, reached at Friday 17:00 CET.
    assert_eq!(d.warn_at, Some("2026-03-06T16:00:00Z".parse().unwrap()));
    let saturday: DateTime<Utc> = "2026-03-07T12:00:00Z".parse().unwrap();
    assert!(
        decide(
            &ticket(&history),
            record(Metric::FirstResponse, SlaMoment::Breach),
            saturday
        )
        .unwrap()
        .is_empty()
    );
}

#[test]
fn the_ticket_state_with_clocks_survives_a_snapshot() {
    let t = ticket(&[
        opened(),
        applied(),
        status(Status::Open, Status::WaitingOnCustomer, 3),
    ]);
    let json = serde_json::to_value(&t).unwrap();
    let back: Ticket = serde_json::from_value(json).unwrap();
    assert_eq!(back, t);
    // A snapshot written before clocks existed still loads.
    let mut old = serde_json::to_value(ticket(&[opened()])).unwrap();
    old.as_object_mut().unwrap().remove("sla");
    let back: Ticket = serde_json::from_value(old).unwrap();
    assert!(back.sla.clocks.is_empty());
}

#[test]
fn the_first_matching_policy_by_rank_applies() {
    use crate::sla::policy::{SlaConditions, SlaPolicyDefinition, choose};
    use crate::values::{ResourceName, Tag};
    use std::collections::{BTreeMap, BTreeSet};
    let def = |name: &str, rank: i64, conditions: SlaConditions, enabled: bool| {
        SlaPolicyDefinition::new(
            ResourceName::parse(name).unwrap(),
            None,
            rank,
            enabled,
            conditions,
            Calendar::AlwaysOpen,
            80,
            BTreeMap::from([(Priority::Normal, targets())]),
        )
        .unwrap()
    };
    let vip = SlaConditions {
        tags: BTreeSet::from([Tag::parse("vip").unwrap()]),
        ..Default::default()
    };
    let id = |n: u128| SlaPolicyId::from_uuid(Uuid::from_u128(n));
    let candidates = vec![
        (
            id(1),
            1,
            def("Everyone", 10, SlaConditions::default(), true),
        ),
        (id(2), 3, def("VIP", 1, vip, true)),
        (id(3), 1, def("Off", 0, SlaConditions::default(), false)),
    ];
    let plain = ticket(&[opened()]);
    assert_eq!(choose(&plain, &candidates).map(|c| c.0), Some(id(1)));
    let mut tagged = vec![opened()];
    tagged.push(TicketEvent::TagsChanged {
        added: BTreeSet::from([Tag::parse("vip").unwrap()]),
        removed: BTreeSet::new(),
        at: at(1),
    });
    assert_eq!(
        choose(&ticket(&tagged), &candidates).map(|c| (c.0, c.1)),
        Some((id(2), 3))
    );
    // No targets for urgent tickets in any policy: none applies.
    let mut urgent = vec![opened()];
    urgent.push(TicketEvent::PriorityChanged {
        from: Priority::Normal,
        to: Priority::Urgent,
        at: at(1),
    });
    assert!(choose(&ticket(&urgent), &candidates).is_none());
}
