//! Queue settings and manual order; the workspace queue aggregate.

use chrono::{TimeZone, Utc};
use uuid::Uuid;

use super::*;
use crate::ids::WorkspaceId;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap()
}

fn t(n: u128) -> TicketId {
    TicketId::from_uuid(Uuid::from_u128(0x7100 + n))
}

fn reorder(ticket: u128, placement: Placement, current: &[u128]) -> QueueCommand {
    QueueCommand::Reorder(Reorder {
        ticket_id: t(ticket),
        placement,
        current: current.iter().map(|n| t(*n)).collect(),
    })
}

fn order_after(settings: &QueueSettings, command: QueueCommand) -> Vec<TicketId> {
    match settings.decide(command).unwrap() {
        Some(QueueChange::Reordered { order, .. }) => order,
        other => panic!("expected a reorder, got {other:?}"),
    }
}

fn with_manual(order: &[u128]) -> QueueSettings {
    QueueSettings {
        manual_order: order.iter().map(|n| t(*n)).collect(),
        ..QueueSettings::default()
    }
}

#[test]
fn pinning_to_the_top_puts_the_ticket_first_and_keeps_other_placed_tickets_after_it() {
    let s = with_manual(&[1, 2]);
    assert_eq!(
        order_after(&s, reorder(5, Placement::Position(1), &[1, 2, 3, 4, 5])),
        vec![t(5), t(1), t(2)]
    );
}

#[test]
fn moving_within_the_placed_tickets_reorders_them() {
    let s = with_manual(&[1, 2, 3]);
    assert_eq!(
        order_after(&s, reorder(3, Placement::Position(1), &[1, 2, 3, 4])),
        vec![t(3), t(1), t(2)]
    );
}

#[test]
fn moving_past_the_end_puts_the_ticket_last() {
    let s = QueueSettings::default();
    assert_eq!(
        order_after(&s, reorder(1, Placement::Position(99), &[1, 2, 3])),
        vec![t(2), t(3), t(1)]
    );
}

#[test]
fn releasing_a_ticket_returns_it_to_the_default_order() {
    let s = with_manual(&[1, 2]);
    assert_eq!(
        order_after(&s, reorder(1, Placement::Release, &[1, 2, 3])),
        vec![t(2)]
    );
    assert_eq!(
        QueueSettings::default()
            .decide(reorder(1, Placement::Release, &[1, 2]))
            .unwrap(),
        None,
        "a ticket not placed by hand is already in the default order"
    );
}

#[test]
fn tickets_that_left_the_queue_drop_out_of_the_manual_order() {
    let s = with_manual(&[7, 1]);
    assert_eq!(
        order_after(&s, reorder(3, Placement::Position(1), &[1, 2, 3])),
        vec![t(3), t(1)]
    );
}

#[test]
fn the_same_placement_again_changes_nothing() {
    let s = with_manual(&[3, 1]);
    assert_eq!(
        s.decide(reorder(3, Placement::Position(1), &[3, 1, 2]))
            .unwrap(),
        None
    );
}

#[test]
fn capacity_and_strategy_changes_record_before_and_after() {
    let s = QueueSettings::default();
    assert_eq!(
        s.decide(QueueCommand::SetCapacity(Some(4))).unwrap(),
        Some(QueueChange::CapacityChanged {
            from: None,
            to: Some(4)
        })
    );
    assert_eq!(s.decide(QueueCommand::SetCapacity(None)).unwrap(), None);
    assert_eq!(
        s.decide(QueueCommand::SetStrategy(
            crate::routing::Strategy::LeastLoaded
        ))
        .unwrap(),
        None,
        "least_loaded is the default"
    );
}

#[test]
fn the_workspace_queue_opens_with_its_first_change() {
    let ws = WorkspaceId::parse("acme").unwrap();
    let q = WorkspaceQueue::default();
    let command = WorkspaceQueueCommand {
        workspace_id: ws.clone(),
        command: QueueCommand::Pause,
    };
    let events = q.decide(command.clone(), now()).unwrap();
    assert_eq!(
        events,
        vec![
            WorkspaceQueueEvent::Opened {
                workspace_id: ws.clone(),
                at: now()
            },
            WorkspaceQueueEvent::Paused { at: now() }
        ]
    );
    let mut q = q;
    for e in events {
        q.apply(e);
    }
    assert!(q.settings.paused);
    assert_eq!(q.workspace_id, Some(ws));
    assert_eq!(q.decide(command, now()).unwrap(), vec![]);
    let resumed = q
        .decide(
            WorkspaceQueueCommand {
                workspace_id: WorkspaceId::parse("acme").unwrap(),
                command: QueueCommand::Resume,
            },
            now(),
        )
        .unwrap();
    assert_eq!(resumed, vec![WorkspaceQueueEvent::Resumed { at: now() }]);
}

#[test]
fn a_workspace_queue_command_that_changes_nothing_does_not_open_it() {
    let q = WorkspaceQueue::default();
    let events = q
        .decide(
            WorkspaceQueueCommand {
                workspace_id: WorkspaceId::parse("acme").unwrap(),
                command: QueueCommand::Resume,
            },
            now(),
        )
        .unwrap();
    assert!(events.is_empty());
}

#[test]
fn workspace_queue_events_keep_their_frozen_names() {
    let e = WorkspaceQueueEvent::Reordered {
        ticket_id: t(1),
        position: Some(1),
        order: vec![t(1)],
        at: now(),
    };
    let v = serde_json::to_value(&e).unwrap();
    assert!(v.get("WorkspaceQueueReordered").is_some());
    assert_eq!(e.type_name(), "WorkspaceQueueReordered");
}
