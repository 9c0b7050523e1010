//! The fold's effects when one batch interleaves changes of the same rows.

use chrono::{TimeZone, Utc};
use std::collections::BTreeSet;
use tgcrm_domain::ticket::{StatusChangeCause, TicketEvent};
use tgcrm_domain::values::{Priority, Status};
use tgcrm_domain::{AgentId, TeamId};

use super::fold::Fold;
use super::row::{OrderRow, QueueRow};
use super::step::Step;

fn row(ticket: &str, version: i64) -> QueueRow {
    let at = Utc.with_ymd_and_hms(2025, 3, 1, 9, 0, 0).unwrap();
    QueueRow {
        ticket_id: ticket.into(),
        workspace_id: "acme".into(),
        team_id: None,
        assignee_agent_id: None,
        released_by: None,
        status: "open".into(),
        active: true,
        priority: "normal".into(),
        priority_rank: 2,
        needs: serde_json::json!([]),
        opened_at: at,
        waiting_since: at,
        sla: Default::default(),
        sla_due_at: None,
        version,
    }
}

fn order(key: &str, ticket: &str, rank: i64) -> OrderRow {
    OrderRow {
        queue_key: key.into(),
        ticket_id: ticket.into(),
        workspace_id: "acme".into(),
        rank,
    }
}

fn ticket(id: &str, seq: i64, event: TicketEvent) -> Step {
    Step::Ticket {
        id: id.into(),
        seq,
        workspace: "acme".into(),
        position: seq * 10,
        event,
    }
}

fn reorder(key: &str, order: &[&str]) -> Step {
    Step::Reorder {
        key: key.into(),
        workspace: "acme".into(),
        order: order.iter().map(|t| (*t).to_owned()).collect(),
    }
}

fn assigned(
    agent: Option<AgentId>,
    team: Option<TeamId>,
    previous_team: Option<TeamId>,
) -> TicketEvent {
    TicketEvent::Assigned {
        agent_id: agent,
        team_id: team,
        previous_agent_id: None,
        previous_team_id: previous_team,
        note: None,
        at: Utc::now(),
        decision: None,
    }
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|t| (*t).to_owned()).collect()
}

#[test]
fn a_ticket_assigned_after_a_reorder_leaves_the_new_order() {
    let team = TeamId::new().to_string();
    let agent = AgentId::new();
    let mut fold = Fold::new(
        &set(&["t1"]),
        vec![row("t1", 1)],
        &set(&["t1"]),
        vec![order(&team, "t1", 0)],
    );
    fold.step(reorder(&team, &["t2", "t1"])).unwrap();
    fold.step(ticket("t1", 2, assigned(Some(agent), None, None)))
        .unwrap();
    let w = fold.finish();
    assert_eq!(w.order_queue_deletes, vec![team.clone()]);
    assert_eq!(w.order_ticket_deletes, vec!["t1".to_owned()]);
    assert_eq!(w.order_rows, vec![order(&team, "t2", 0)]);
    assert_eq!(w.queue_rows.len(), 1);
    assert_eq!(w.queue_rows[0].assignee_agent_id, Some(agent.to_string()));
    assert_eq!(w.agents, vec![(agent.to_string(), "acme".to_owned(), 20)]);
}

#[test]
fn a_reorder_after_an_assignment_puts_the_ticket_back() {
    let team = TeamId::new().to_string();
    let mut fold = Fold::new(
        &set(&["t1"]),
        vec![row("t1", 1)],
        &set(&["t1"]),
        vec![order(&team, "t1", 0), order("all:acme", "t1", 3)],
    );
    fold.step(ticket("t1", 2, assigned(Some(AgentId::new()), None, None)))
        .unwrap();
    fold.step(reorder(&team, &["t1", "t2"])).unwrap();
    let w = fold.finish();
    assert_eq!(w.order_ticket_deletes, vec!["t1".to_owned()]);
    assert_eq!(
        w.order_rows,
        vec![order(&team, "t1", 0), order(&team, "t2", 1)]
    );
}

#[test]
fn leaving_a_team_removes_only_that_teams_place() {
    let (old, new) = (TeamId::new(), TeamId::new());
    let mut fold = Fold::new(
        &set(&["t1"]),
        vec![row("t1", 1)],
        &set(&["t1"]),
        vec![order(&old.to_string(), "t1", 0), order("all:acme", "t1", 4)],
    );
    fold.step(ticket("t1", 2, assigned(None, Some(new), Some(old))))
        .unwrap();
    let w = fold.finish();
    assert_eq!(w.order_ticket_deletes, vec!["t1".to_owned()]);
    assert_eq!(w.order_rows, vec![order("all:acme", "t1", 4)]);
    assert_eq!(w.queue_rows[0].team_id, Some(new.to_string()));
    assert!(w.agents.is_empty());
}

#[test]
fn stale_events_change_nothing_but_closing_deletes_anyway() {
    let mut fold = Fold::new(&set(&["t1"]), vec![row("t1", 5)], &set(&["t1"]), vec![]);
    let priority = TicketEvent::PriorityChanged {
        from: Priority::Normal,
        to: Priority::Urgent,
        at: Utc::now(),
    };
    fold.step(ticket("t1", 3, priority)).unwrap();
    let closed = TicketEvent::StatusChanged {
        from: Status::Open,
        to: Status::Closed,
        cause: StatusChangeCause::Manual,
        reason: None,
        at: Utc::now(),
    };
    fold.step(ticket("t1", 4, closed)).unwrap();
    let w = fold.finish();
    assert!(w.queue_rows.is_empty());
    assert_eq!(w.queue_deletes, vec!["t1".to_owned()]);
    assert!(w.order_ticket_deletes.is_empty());
}
