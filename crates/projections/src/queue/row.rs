//! How one ticket event changes its `rm_queue` row, and what else it does
//! to the queue tables: plain functions, no I/O.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use tgcrm_domain::routing::needs_from_tags;
use tgcrm_domain::sla::{DeadlineState, TicketSla};
use tgcrm_domain::ticket::TicketEvent;
use tgcrm_domain::values::{Status, Tag};

/// A row of `rm_queue` as stored (`sla_state` not yet parsed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub(super) struct QueueRecord {
    pub ticket_id: String,
    pub workspace_id: String,
    pub team_id: Option<String>,
    pub assignee_agent_id: Option<String>,
    pub released_by: Option<String>,
    pub status: String,
    pub active: bool,
    pub priority: String,
    pub priority_rank: i64,
    pub needs: serde_json::Value,
    pub opened_at: DateTime<Utc>,
    pub waiting_since: DateTime<Utc>,
    pub sla_state: serde_json::Value,
    pub sla_due_at: Option<DateTime<Utc>>,
    pub version: i64,
}

/// A row of `rm_queue` being folded.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct QueueRow {
    pub ticket_id: String,
    pub workspace_id: String,
    pub team_id: Option<String>,
    pub assignee_agent_id: Option<String>,
    pub released_by: Option<String>,
    pub status: String,
    pub active: bool,
    pub priority: String,
    pub priority_rank: i64,
    pub needs: serde_json::Value,
    pub opened_at: DateTime<Utc>,
    pub waiting_since: DateTime<Utc>,
    /// The ticket's SLA clocks, folded with the domain's own
    /// [`TicketSla`] from the events that move due times (warnings,
    /// breaches and escalations do not, and are left out).
    pub sla: TicketSla,
    /// The earliest due time of a target not yet met (breached ones
    /// included: they are the most overdue), `None` without one.
    pub sla_due_at: Option<DateTime<Utc>>,
    pub version: i64,
}

impl TryFrom<QueueRecord> for QueueRow {
    type Error = serde_json::Error;

    fn try_from(r: QueueRecord) -> Result<Self, Self::Error> {
        Ok(Self {
            ticket_id: r.ticket_id,
            workspace_id: r.workspace_id,
            team_id: r.team_id,
            assignee_agent_id: r.assignee_agent_id,
            released_by: r.released_by,
            status: r.status,
            active: r.active,
            priority: r.priority,
            priority_rank: r.priority_rank,
            needs: r.needs,
            opened_at: r.opened_at,
            waiting_since: r.waiting_since,
            sla: crate::sla::sla_state(r.sla_state)?,
            sla_due_at: r.sla_due_at,
            version: r.version,
        })
    }
}

/// When the ticket's first target not yet met falls due under `sla`.
pub(super) fn next_due(sla: &TicketSla) -> Option<DateTime<Utc>> {
    sla.deadlines()
        .into_iter()
        .filter(|d| {
            matches!(
                d.state,
                DeadlineState::Ok | DeadlineState::Warning | DeadlineState::Breached
            )
        })
        .filter_map(|d| d.due_at)
        .min()
}

/// A row of `rm_queue_order`.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub(super) struct OrderRow {
    pub queue_key: String,
    pub ticket_id: String,
    pub workspace_id: String,
    pub rank: i64,
}
/// What a ticket event does besides changing its row's columns.
#[derive(Debug, Default, PartialEq)]
pub(super) struct Effects {
    /// The row was created or updated.
    pub written: bool,
    /// The row was deleted (whether or not there was one).
    pub removed: bool,
    pub unorder: Unorder,
    /// The agent given the ticket (round robin's last assigned).
    pub assigned: Option<String>,
}

/// Which of the ticket's manual-order rows go.
#[derive(Debug, Default, PartialEq)]
pub(super) enum Unorder {
    #[default]
    None,
    All,
    In(String),
}

/// The row if the event is newer than it (the version guard).
fn newer(row: &mut Option<QueueRow>, seq: i64) -> Option<&mut QueueRow> {
    row.as_mut().filter(|r| r.version < seq)
}

/// Apply ticket event number `seq` of ticket `id` to its row (`None`: no row).
pub(super) fn evolve(
    row: &mut Option<QueueRow>,
    id: &str,
    seq: i64,
    event: TicketEvent,
) -> anyhow::Result<Effects> {
    // The SLA clocks see the event first (the columns take it by value):
    // those of a row the event is newer than, or a new ticket's.
    let opening = row.is_none() && matches!(event, TicketEvent::Opened { .. });
    let mut sla = match newer(row, seq) {
        Some(r) => Some(std::mem::take(&mut r.sla)),
        None => opening.then(TicketSla::default),
    };
    if let Some(sla) = sla.as_mut() {
        sla.apply(&event);
    }
    let mut fx = evolve_columns(row, id, seq, event)?;
    if let (Some(r), Some(sla)) = (row.as_mut(), sla) {
        r.sla_due_at = next_due(&sla);
        r.sla = sla;
        r.version = r.version.max(seq);
        fx.written = true;
    }
    Ok(fx)
}

/// What the event does to the row's columns other than the SLA ones.
fn evolve_columns(
    row: &mut Option<QueueRow>,
    id: &str,
    seq: i64,
    event: TicketEvent,
) -> anyhow::Result<Effects> {
    let mut fx = Effects::default();
    match event {
        TicketEvent::Opened {
            workspace_id,
            priority,
            tags,
            at,
            ..
        } if row.is_none() => {
            *row = Some(QueueRow {
                ticket_id: id.to_owned(),
                workspace_id: workspace_id.as_str().to_owned(),
                team_id: None,
                assignee_agent_id: None,
                released_by: None,
                status: Status::Open.as_str().to_owned(),
                active: true,
                priority: priority.as_str().to_owned(),
                priority_rank: priority.rank(),
                needs: serde_json::to_value(needs_from_tags(&tags))?,
                opened_at: at,
                waiting_since: at,
                sla: TicketSla::default(),
                sla_due_at: None,
                version: seq,
            });
            fx.written = true;
        }
        TicketEvent::Assigned {
            agent_id,
            team_id,
            previous_agent_id,
            previous_team_id,
            ..
        } => {
            let Some(r) = newer(row, seq) else {
                return Ok(fx);
            };
            r.assignee_agent_id = agent_id.map(|a| a.to_string());
            r.team_id = team_id.map(|t| t.to_string());
            if agent_id.is_some() {
                r.released_by = None;
            } else if let Some(prev) = previous_agent_id {
                r.released_by = Some(prev.to_string());
            }
            r.version = seq;
            fx.written = true;
            if agent_id.is_some() {
                fx.unorder = Unorder::All;
            } else if let Some(prev) = previous_team_id
                && Some(prev) != team_id
            {
                fx.unorder = Unorder::In(prev.to_string());
            }
            if let Some(agent) = agent_id
                && Some(agent) != previous_agent_id
            {
                fx.assigned = Some(agent.to_string());
            }
        }
        TicketEvent::Unassigned {
            previous_agent_id, ..
        } => {
            if let Some(r) = newer(row, seq) {
                r.assignee_agent_id = None;
                r.released_by = previous_agent_id.map(|a| a.to_string());
                r.version = seq;
                fx.written = true;
            }
        }
        TicketEvent::StatusChanged { to, at, .. } => {
            if to == Status::Closed {
                *row = None;
                fx.removed = true;
                fx.unorder = Unorder::All;
                return Ok(fx);
            }
            if let Some(r) = newer(row, seq) {
                // Back from resolved: waiting starts again.
                if to.is_active() && !r.active {
                    r.waiting_since = at;
                }
                r.status = to.as_str().to_owned();
                r.active = to.is_active();
                r.version = seq;
                fx.written = true;
            }
            if !to.is_active() {
                fx.unorder = Unorder::All;
            }
        }
        TicketEvent::PriorityChanged { to, .. } => {
            if let Some(r) = newer(row, seq) {
                r.priority = to.as_str().to_owned();
                r.priority_rank = to.rank();
                r.version = seq;
                fx.written = true;
            }
        }
        TicketEvent::TagsChanged { added, removed, .. } => {
            let Some(r) = row.as_mut() else {
                return Ok(fx);
            };
            let current: Vec<String> = match &r.needs {
                serde_json::Value::String(s) => serde_json::from_str(s)?,
                v => serde_json::from_value(v.clone())?,
            };
            let mut needs: BTreeSet<Tag> =
                current.iter().filter_map(|s| Tag::parse(s).ok()).collect();
            needs.extend(needs_from_tags(&added));
            for t in needs_from_tags(&removed) {
                needs.remove(&t);
            }
            if r.version < seq {
                r.needs = serde_json::to_value(&needs)?;
                r.version = seq;
                fx.written = true;
            }
        }
        TicketEvent::Archived { .. } => {
            *row = None;
            fx.removed = true;
        }
        _ => {}
    }
    Ok(fx)
}
