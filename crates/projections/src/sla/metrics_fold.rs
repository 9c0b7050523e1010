//! How ticket events change the service metric tables, on rows in memory and
//! without I/O: [`super::metrics`] loads the rows a batch touches, folds the
//! batch's events here in log order and writes what changed.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use tgcrm_domain::sla::{Calendar, Metric, TicketSla};
use tgcrm_domain::ticket::{Author, MessageVisibility, TicketEvent};
use tgcrm_domain::values::Status;
use tgcrm_store::StoredEvent;

/// A row of `rm_metric_tickets` as stored (`state` not yet parsed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TicketRecord {
    pub ticket_id: String,
    pub workspace_id: String,
    pub state: serde_json::Value,
    pub priority: String,
    pub team_id: Option<String>,
    pub agent_id: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub responded_cycle: i64,
    pub version: i64,
}

/// A row of `rm_metric_tickets` being folded.
#[derive(Debug, Clone)]
pub struct Ticket {
    /// Set on insert only.
    pub workspace_id: String,
    pub sla: TicketSla,
    pub priority: String,
    pub team_id: Option<String>,
    pub agent_id: Option<String>,
    /// Set on insert only.
    pub opened_at: DateTime<Utc>,
    pub responded_cycle: i64,
    pub version: i64,
}

impl TryFrom<TicketRecord> for Ticket {
    type Error = serde_json::Error;

    fn try_from(r: TicketRecord) -> Result<Self, Self::Error> {
        Ok(Self {
            workspace_id: r.workspace_id,
            sla: super::batch::sla_state(r.state)?,
            priority: r.priority,
            team_id: r.team_id,
            agent_id: r.agent_id,
            opened_at: r.opened_at,
            responded_cycle: r.responded_cycle,
            version: r.version,
        })
    }
}

/// A row of `rm_first_responses`.
#[derive(Debug, Clone, PartialEq)]
pub struct FirstResponse {
    pub ticket_id: String,
    pub cycle: i64,
    pub workspace_id: String,
    pub started_at: DateTime<Utc>,
    pub responded_at: DateTime<Utc>,
    pub calendar_seconds: i64,
    pub business_seconds: i64,
    pub responder: &'static str,
    pub agent_id: Option<String>,
    pub team_id: Option<String>,
    pub priority: String,
}

/// A row of `rm_resolutions`, all columns.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Resolution {
    pub ticket_id: String,
    pub cycle: i64,
    pub workspace_id: String,
    pub opened_at: DateTime<Utc>,
    pub started_at: DateTime<Utc>,
    pub resolved_at: DateTime<Utc>,
    pub calendar_seconds: i64,
    pub business_seconds: i64,
    pub full_calendar_seconds: i64,
    pub full_business_seconds: i64,
    pub agent_id: Option<String>,
    pub team_id: Option<String>,
    pub priority: String,
    pub latest: bool,
}

/// A row of `rm_sla_outcomes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub ticket_id: String,
    pub metric: &'static str,
    pub cycle: i64,
    pub workspace_id: String,
    pub policy_id: String,
    pub policy_version: i64,
    pub due_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    pub met: bool,
    pub breached: bool,
    pub agent_id: Option<String>,
    pub team_id: Option<String>,
    pub priority: String,
}

/// One ticket's resolution rows: stored ones and the batch's, by cycle.
#[derive(Debug, Clone, Default)]
pub struct Resolutions {
    pub rows: BTreeMap<i64, Resolution>,
    /// Cycles whose row the batch inserted or changed.
    pub changed: BTreeSet<i64>,
}

impl Resolutions {
    /// Rows the batch inserted or changed.
    pub fn written(&self) -> impl Iterator<Item = &Resolution> {
        self.changed.iter().filter_map(|c| self.rows.get(c))
    }

    /// A resolution becomes the ticket's latest; an already recorded cycle
    /// stays as it was, but loses the mark too.
    fn record(&mut self, new: Resolution) {
        for (cycle, r) in &mut self.rows {
            if r.latest {
                r.latest = false;
                self.changed.insert(*cycle);
            }
        }
        if let std::collections::btree_map::Entry::Vacant(e) = self.rows.entry(new.cycle) {
            self.changed.insert(new.cycle);
            e.insert(new);
        }
    }
}

/// What one event adds to the metric tables besides its ticket's row.
#[derive(Debug, Default)]
struct Effects {
    first_response: Option<FirstResponse>,
    resolution: Option<Resolution>,
    outcomes: Vec<Outcome>,
}

/// The four tables in memory while a batch is folded.
#[derive(Debug, Default)]
pub struct Fold {
    /// Stored ticket rows the batch has not changed (yet).
    stored: HashMap<String, TicketRecord>,
    /// Ticket rows the batch changed: each was folded at least one event.
    pub tickets: HashMap<String, Ticket>,
    /// First responses the batch recorded, the first of each key only.
    pub first_responses: Vec<FirstResponse>,
    first_response_keys: HashSet<(String, i64)>,
    /// The resolutions of the tickets the batch resolves (loaded up front).
    pub resolutions: HashMap<String, Resolutions>,
    /// Outcomes the batch settled, by ticket, metric and cycle.
    pub outcomes: HashMap<(String, &'static str, i64), Outcome>,
}

impl Fold {
    /// Start from the stored rows of the tickets a batch touches, and every
    /// stored resolution of those it resolves.
    pub fn new(tickets: Vec<TicketRecord>, resolutions: Vec<Resolution>) -> Self {
        let mut fold = Self {
            stored: tickets
                .into_iter()
                .map(|t| (t.ticket_id.clone(), t))
                .collect(),
            ..Self::default()
        };
        for r in resolutions {
            let entry = fold.resolutions.entry(r.ticket_id.clone()).or_default();
            entry.rows.insert(r.cycle, r);
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
                    (None, TicketEvent::Opened { at, priority, .. }) => e.insert(Ticket {
                        workspace_id: stored.workspace_id.clone(),
                        sla: TicketSla::default(),
                        priority: priority.as_str().to_owned(),
                        team_id: None,
                        agent_id: None,
                        opened_at: *at,
                        responded_cycle: 0,
                        version: 0,
                    }),
                    (None, _) => return Ok(()),
                }
            }
        };
        let effects = evolve(ticket, stored, event);
        if let Some(f) = effects.first_response
            && self
                .first_response_keys
                .insert((f.ticket_id.clone(), f.cycle))
        {
            self.first_responses.push(f);
        }
        if let Some(r) = effects.resolution {
            self.resolutions.entry(id.clone()).or_default().record(r);
        }
        for o in effects.outcomes {
            match self
                .outcomes
                .entry((o.ticket_id.clone(), o.metric, o.cycle))
            {
                // What an upsert of the outcome changes; the rest stays as first written.
                Entry::Occupied(mut e) => {
                    let kept = e.get_mut();
                    kept.completed_at = o.completed_at;
                    kept.met = o.met;
                    kept.breached = o.breached;
                    kept.agent_id = o.agent_id;
                    kept.team_id = o.team_id;
                }
                Entry::Vacant(e) => {
                    e.insert(o);
                }
            }
        }
        Ok(())
    }
}

fn seconds(d: Duration) -> i64 {
    d.num_seconds()
}

fn calendar_of(sla: &TicketSla) -> Calendar {
    sla.applied
        .as_ref()
        .map(|a| a.calendar.clone())
        .unwrap_or_default()
}

/// Fold `event` into the ticket's row; the rows it adds elsewhere.
fn evolve(row: &mut Ticket, stored: &StoredEvent, event: &TicketEvent) -> Effects {
    let id = &stored.aggregate_id;
    let ws = &stored.workspace_id;
    let before = row.sla.clone();
    row.sla.apply(event);
    let sla = &row.sla;
    let calendar = calendar_of(sla);
    let mut effects = Effects::default();
    match event {
        TicketEvent::PriorityChanged { to, .. } => row.priority = to.as_str().to_owned(),
        TicketEvent::Assigned {
            agent_id, team_id, ..
        } => {
            row.agent_id = agent_id.map(|a| a.to_string());
            row.team_id = team_id.map(|t| t.to_string());
        }
        TicketEvent::Unassigned { .. } => row.agent_id = None,
        TicketEvent::MessageAdded {
            author,
            visibility,
            at,
            ..
        } if author.is_human_agent() && *visibility == MessageVisibility::Public => {
            let resolution = sla.clock(Metric::Resolution);
            let cycle = resolution.map_or(1, |c| i64::from(c.cycle));
            // Cycle 1 is the first response proper; a later cycle counts
            // its first reply while the reopened ticket is unresolved.
            let counts = if cycle == 1 {
                before
                    .clock(Metric::FirstResponse)
                    .is_some_and(|c| c.met_at.is_none() && !c.stopped)
            } else {
                resolution.is_some_and(|c| c.is_running())
            };
            if counts && row.responded_cycle < cycle {
                let started = if cycle == 1 {
                    row.opened_at
                } else {
                    resolution.map_or(row.opened_at, |c| c.started_at)
                };
                let (responder, agent) = match author {
                    Author::Agent { agent_id } => ("agent", Some(agent_id.to_string())),
                    _ => ("staff", None),
                };
                effects.first_response = Some(FirstResponse {
                    ticket_id: id.clone(),
                    cycle,
                    workspace_id: ws.clone(),
                    started_at: started,
                    responded_at: *at,
                    calendar_seconds: seconds(*at - started),
                    business_seconds: seconds(calendar.elapsed(started, *at, &[])),
                    responder,
                    agent_id: agent,
                    team_id: row.team_id.clone(),
                    priority: row.priority.clone(),
                });
                row.responded_cycle = cycle;
            }
        }
        TicketEvent::StatusChanged { to, at, .. } if *to == Status::Resolved => {
            if let Some(c) = sla.clock(Metric::Resolution)
                && c.met_at == Some(*at)
            {
                effects.resolution = Some(Resolution {
                    ticket_id: id.clone(),
                    cycle: i64::from(c.cycle),
                    workspace_id: ws.clone(),
                    opened_at: row.opened_at,
                    started_at: c.started_at,
                    resolved_at: *at,
                    calendar_seconds: seconds(*at - c.started_at),
                    business_seconds: seconds(calendar.elapsed(c.started_at, *at, &[])),
                    full_calendar_seconds: seconds(*at - row.opened_at),
                    full_business_seconds: seconds(calendar.elapsed(row.opened_at, *at, &[])),
                    agent_id: row.agent_id.clone(),
                    team_id: row.team_id.clone(),
                    priority: row.priority.clone(),
                    latest: true,
                });
            }
        }
        _ => {}
    }
    effects.outcomes = outcomes(stored, &before, row);
    row.version = stored.sequence;
    effects
}

/// The outcomes an event settled: a breach, or a metric met.
fn outcomes(stored: &StoredEvent, before: &TicketSla, row: &Ticket) -> Vec<Outcome> {
    let after = &row.sla;
    let Some(applied) = &after.applied else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for d in after.deadlines() {
        let was = before.deadline(d.metric);
        let newly_met = d.met_at.is_some()
            && was
                .as_ref()
                .is_none_or(|w| w.met_at.is_none() || w.cycle != d.cycle);
        let newly_breached = d.breached
            && was
                .as_ref()
                .is_none_or(|w| !w.breached || w.cycle != d.cycle);
        if !newly_met && !newly_breached {
            continue;
        }
        let Some(due_at) = d.due_at else {
            continue;
        };
        let late = d.breached || d.met_at.is_some_and(|m| m > due_at);
        out.push(Outcome {
            ticket_id: stored.aggregate_id.clone(),
            metric: d.metric.as_str(),
            cycle: i64::from(d.cycle),
            workspace_id: stored.workspace_id.clone(),
            policy_id: applied.policy_id.to_string(),
            policy_version: applied.policy_version,
            due_at,
            completed_at: d.met_at,
            met: d.met_at.is_some() && !late,
            breached: late,
            agent_id: row.agent_id.clone(),
            team_id: row.team_id.clone(),
            priority: row.priority.clone(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolution(cycle: i64, latest: bool) -> Resolution {
        let at = DateTime::<Utc>::UNIX_EPOCH;
        Resolution {
            ticket_id: "t".into(),
            cycle,
            workspace_id: "w".into(),
            opened_at: at,
            started_at: at,
            resolved_at: at,
            calendar_seconds: cycle,
            business_seconds: 0,
            full_calendar_seconds: 0,
            full_business_seconds: 0,
            agent_id: None,
            team_id: None,
            priority: "normal".into(),
            latest,
        }
    }

    #[test]
    fn a_resolution_takes_the_mark_and_a_recorded_cycle_is_kept_unmarked() {
        let mut r = Resolutions::default();
        r.rows.insert(1, resolution(1, true));
        r.record(resolution(2, true));
        assert_eq!(
            r.written().map(|x| (x.cycle, x.latest)).collect::<Vec<_>>(),
            [(1, false), (2, true)]
        );
        let mut again = resolution(2, true);
        again.calendar_seconds = 99;
        r.record(again);
        let rows: Vec<_> = r
            .rows
            .values()
            .map(|x| (x.cycle, x.latest, x.calendar_seconds))
            .collect();
        assert_eq!(rows, [(1, false, 1), (2, false, 2)]);
    }
}
