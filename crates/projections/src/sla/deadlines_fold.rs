//! How ticket events change the SLA deadline tables, on rows in memory and
//! without I/O: [`super::deadlines`] loads the rows a batch touches, folds the
//! batch's events here in log order and writes what changed.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use tgcrm_domain::sla::TicketSla;
use tgcrm_domain::sla::policy::SEGMENT_FIELD;
use tgcrm_domain::ticket::TicketEvent;
use tgcrm_store::StoredEvent;

use super::deadlines::{DeadlineRow, next_check};

/// A row of `rm_sla_tickets` as stored (`state` not yet parsed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketRecord {
    pub ticket_id: String,
    pub workspace_id: String,
    pub state: serde_json::Value,
    pub status: String,
    pub priority: String,
    pub team_id: Option<String>,
    pub agent_id: Option<String>,
    pub segment: Option<String>,
    pub active: bool,
    pub opened_at: DateTime<Utc>,
    pub opened_event_id: String,
    pub awaiting_event_id: Option<String>,
    pub last_event_id: String,
    pub version: i64,
}

/// A row of `rm_sla_tickets` being folded.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// Set on insert only.
    pub workspace_id: String,
    pub sla: TicketSla,
    pub status: String,
    pub priority: String,
    pub team_id: Option<String>,
    pub agent_id: Option<String>,
    pub segment: Option<String>,
    pub active: bool,
    /// Set on insert only.
    pub opened_at: DateTime<Utc>,
    /// Set on insert only.
    pub opened_event_id: String,
    pub awaiting_event_id: Option<String>,
    pub last_event_id: String,
    pub version: i64,
}

impl TryFrom<TicketRecord> for Ticket {
    type Error = serde_json::Error;

    fn try_from(r: TicketRecord) -> Result<Self, Self::Error> {
        Ok(Self {
            workspace_id: r.workspace_id,
            sla: super::batch::sla_state(r.state)?,
            status: r.status,
            priority: r.priority,
            team_id: r.team_id,
            agent_id: r.agent_id,
            segment: r.segment,
            active: r.active,
            opened_at: r.opened_at,
            opened_event_id: r.opened_event_id,
            awaiting_event_id: r.awaiting_event_id,
            last_event_id: r.last_event_id,
            version: r.version,
        })
    }
}

impl Ticket {
    /// The row a ticket's opening starts (before the opening is folded in).
    fn opened(stored: &StoredEvent, at: DateTime<Utc>) -> Self {
        Self {
            workspace_id: stored.workspace_id.clone(),
            sla: TicketSla::default(),
            status: "open".into(),
            priority: "normal".into(),
            team_id: None,
            agent_id: None,
            segment: None,
            active: true,
            opened_at: at,
            opened_event_id: stored.event_id.clone(),
            awaiting_event_id: None,
            last_event_id: stored.event_id.clone(),
            version: 0,
        }
    }
}

/// A row of `rm_sla_escalations`.
#[derive(Debug, Clone, PartialEq)]
pub struct Escalation {
    pub ticket_id: String,
    pub policy_id: String,
    pub rule_id: String,
    pub workspace_id: String,
    pub tier: i64,
    pub event_id: String,
    pub escalated_at: DateTime<Utc>,
}

/// One ticket's deadline rows: as stored before the batch, and as folded.
#[derive(Debug, Clone, Default)]
pub struct Deadlines {
    /// Metrics with a stored row.
    pub stored: BTreeSet<String>,
    /// The rows now, by metric.
    pub rows: BTreeMap<String, DeadlineRow>,
    /// Metrics whose row the batch (re)wrote.
    pub changed: BTreeSet<String>,
}

impl Deadlines {
    /// Stored rows that no longer exist.
    pub fn removed(&self) -> impl Iterator<Item = &String> {
        self.stored.iter().filter(|m| !self.rows.contains_key(*m))
    }

    /// Rows the batch wrote that still exist.
    pub fn written(&self) -> impl Iterator<Item = &DeadlineRow> {
        self.changed.iter().filter_map(|m| self.rows.get(m))
    }
}

/// The three tables in memory while a batch is folded.
#[derive(Debug, Default)]
pub struct Fold {
    /// Stored ticket rows the batch has not changed (yet).
    stored: HashMap<String, TicketRecord>,
    /// Ticket rows the batch changed: each was folded at least one event.
    pub tickets: HashMap<String, Ticket>,
    pub deadlines: HashMap<String, Deadlines>,
    /// Escalations recorded by the batch, the first of each key only.
    pub escalations: Vec<Escalation>,
    escalation_keys: HashSet<(String, String, String)>,
}

impl Fold {
    /// Start from the stored rows of the tickets a batch touches.
    pub fn new(tickets: Vec<TicketRecord>, deadlines: Vec<DeadlineRow>) -> Self {
        let mut fold = Self {
            stored: tickets
                .into_iter()
                .map(|t| (t.ticket_id.clone(), t))
                .collect(),
            ..Self::default()
        };
        for d in deadlines {
            let entry = fold.deadlines.entry(d.ticket_id.clone()).or_default();
            entry.stored.insert(d.metric.clone());
            entry.rows.insert(d.metric.clone(), d);
        }
        fold
    }

    /// Fold one event of a ticket. Events at or below the row's version are
    /// skipped (already applied), and so are events of a ticket whose opening
    /// this projection never saw.
    pub fn apply(&mut self, stored: &StoredEvent, event: &TicketEvent) -> serde_json::Result<()> {
        let id = &stored.aggregate_id;
        let ticket = match self.tickets.entry(id.clone()) {
            Entry::Occupied(e) if e.get().version >= stored.sequence => return Ok(()),
            Entry::Occupied(e) => e.into_mut(),
            Entry::Vacant(e) => {
                if (self.stored.get(id)).is_some_and(|r| r.version >= stored.sequence) {
                    return Ok(());
                }
                match (self.stored.remove(id), event) {
                    (Some(r), _) => e.insert(Ticket::try_from(r)?),
                    (None, TicketEvent::Opened { at, .. }) => e.insert(Ticket::opened(stored, *at)),
                    (None, _) => return Ok(()),
                }
            }
        };
        if let Some(escalation) = evolve(ticket, stored, event)
            && self.escalation_keys.insert((
                escalation.ticket_id.clone(),
                escalation.policy_id.clone(),
                escalation.rule_id.clone(),
            ))
        {
            self.escalations.push(escalation);
        }
        let deadlines = self.deadlines.entry(id.clone()).or_default();
        update_deadlines(deadlines, ticket, stored);
        Ok(())
    }
}

fn segment_of(fields: &tgcrm_domain::values::Fields) -> Option<String> {
    let key = tgcrm_domain::values::FieldKey::parse(SEGMENT_FIELD).ok()?;
    match fields.get(&key)? {
        serde_json::Value::String(s) => Some(s.trim().to_owned()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// Fold `event` into the ticket's row; the escalation it records, if any.
fn evolve(ticket: &mut Ticket, stored: &StoredEvent, event: &TicketEvent) -> Option<Escalation> {
    let waiting_before = ticket.sla.awaiting_reply_since;
    ticket.sla.apply(event);
    if ticket.sla.awaiting_reply_since.is_some() && waiting_before.is_none() {
        ticket.awaiting_event_id = Some(stored.event_id.clone());
    } else if ticket.sla.awaiting_reply_since.is_none() {
        ticket.awaiting_event_id = None;
    }
    let mut escalation = None;
    match event {
        TicketEvent::Opened {
            priority, fields, ..
        } => {
            ticket.priority = priority.as_str().to_owned();
            ticket.segment = segment_of(fields);
        }
        TicketEvent::PriorityChanged { to, .. } => ticket.priority = to.as_str().to_owned(),
        TicketEvent::Assigned {
            agent_id, team_id, ..
        } => {
            ticket.agent_id = agent_id.map(|a| a.to_string());
            ticket.team_id = team_id.map(|t| t.to_string());
        }
        TicketEvent::Unassigned { .. } => ticket.agent_id = None,
        TicketEvent::StatusChanged { to, .. } => ticket.status = to.as_str().to_owned(),
        TicketEvent::FieldsChanged { set, removed, .. } => {
            if let Some(s) = segment_of(set) {
                ticket.segment = Some(s);
            } else if removed.iter().any(|k| k.as_str() == SEGMENT_FIELD) {
                ticket.segment = None;
            }
        }
        TicketEvent::TicketEscalated {
            policy_id,
            rule_id,
            tier,
            at,
            ..
        } => {
            escalation = Some(Escalation {
                ticket_id: stored.aggregate_id.clone(),
                policy_id: policy_id.to_string(),
                rule_id: rule_id.to_string(),
                workspace_id: stored.workspace_id.clone(),
                tier: i64::from(*tier),
                event_id: stored.event_id.clone(),
                escalated_at: *at,
            });
        }
        _ => {}
    }
    ticket.active = matches!(
        ticket.status.as_str(),
        "open" | "in_progress" | "waiting_on_customer"
    ) && !matches!(event, TicketEvent::Archived { .. });
    ticket.last_event_id = stored.event_id.clone();
    ticket.version = stored.sequence;
    escalation
}

/// After an event: rows of metrics without a deadline go; under an applied
/// policy every deadline is rewritten, keeping the event it stems from (the
/// one that last moved it) while its cycle, policy version and times hold.
fn update_deadlines(deadlines: &mut Deadlines, ticket: &Ticket, stored: &StoredEvent) {
    let sla = &ticket.sla;
    let current = sla.deadlines();
    deadlines
        .rows
        .retain(|metric, _| current.iter().any(|d| d.metric.as_str() == metric));
    let Some(applied) = &sla.applied else {
        return;
    };
    let rows: Vec<DeadlineRow> = current
        .iter()
        .map(|d| {
            let previous = deadlines.rows.get(d.metric.as_str());
            let source = match previous {
                Some(o)
                    if o.cycle == i64::from(d.cycle)
                        && o.policy_version == applied.policy_version
                        && o.due_at == d.due_at
                        && o.warn_at == d.warn_at =>
                {
                    o.source_event_id.clone()
                }
                _ => stored.event_id.clone(),
            };
            let (next_check_at, next_moment) = next_check(d);
            DeadlineRow {
                ticket_id: stored.aggregate_id.clone(),
                metric: d.metric.as_str().to_owned(),
                // Kept by an update, set by an insert.
                workspace_id: previous
                    .map_or_else(|| stored.workspace_id.clone(), |o| o.workspace_id.clone()),
                cycle: i64::from(d.cycle),
                policy_id: applied.policy_id.to_string(),
                policy_version: applied.policy_version,
                target_seconds: d.target_seconds,
                started_at: d.started_at,
                warn_at: d.warn_at,
                due_at: d.due_at,
                met_at: d.met_at,
                state: d.state.as_str().to_owned(),
                warned: d.warned,
                breached: d.breached,
                next_check_at,
                next_moment: next_moment.map(str::to_owned),
                source_event_id: source,
                team_id: ticket.team_id.clone(),
                agent_id: ticket.agent_id.clone(),
                priority: ticket.priority.clone(),
                updated_at: stored.occurred_at,
            }
        })
        .collect();
    for row in rows {
        deadlines.changed.insert(row.metric.clone());
        deadlines.rows.insert(row.metric.clone(), row);
    }
}
