//! A ticket's service-level clocks, folded from its events: when each metric's
//! current cycle started, its pauses, whether it was met, warned or breached.
//! The ticket aggregate and the read models fold the same events with the
//! same code, so the deadlines a projector shows are the ones the aggregate
//! decides on.
//!
//! Rules:
//! - `first_response`: from opening to the first public reply of a human
//!   agent (bot and system messages and internal notes do not count).
//! - `next_response`: from a customer's message that follows an answered one
//!   to the next public reply of a human agent.
//! - `resolution`: from opening (or reopening) to resolved; every reopening
//!   starts a new cycle.
//! - The clocks pause while the ticket waits on its customer; the response
//!   clocks also pause while it is resolved. Closing stops every clock.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ticket::TicketEvent;
use crate::values::Status;

use super::calendar::Pause;
use super::{AppliedSla, Metric};

/// One metric's clock in its current cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricClock {
    /// 1 for the first cycle; a new cycle starts on each reopening (resolution)
    /// or unanswered customer message (next response).
    pub cycle: u32,
    pub started_at: DateTime<Utc>,
    #[serde(default)]
    pub met_at: Option<DateTime<Utc>>,
    /// The ticket was closed before the metric was met.
    #[serde(default)]
    pub stopped: bool,
    #[serde(default)]
    pub pauses: Vec<Pause>,
    #[serde(default)]
    pub warned: bool,
    #[serde(default)]
    pub breached: bool,
}

impl MetricClock {
    fn new(cycle: u32, at: DateTime<Utc>, paused: bool) -> Self {
        Self {
            cycle,
            started_at: at,
            met_at: None,
            stopped: false,
            pauses: if paused {
                vec![Pause { from: at, to: None }]
            } else {
                vec![]
            },
            warned: false,
            breached: false,
        }
    }

    /// Still counting toward its target (possibly paused).
    pub fn is_running(&self) -> bool {
        self.met_at.is_none() && !self.stopped
    }

    pub fn is_paused(&self) -> bool {
        self.pauses.last().is_some_and(|p| p.to.is_none())
    }

    fn pause(&mut self, at: DateTime<Utc>) {
        if !self.is_paused() {
            self.pauses.push(Pause { from: at, to: None });
        }
    }

    fn resume(&mut self, at: DateTime<Utc>) {
        if let Some(last) = self.pauses.last_mut()
            && last.to.is_none()
        {
            if last.from >= at {
                self.pauses.pop();
            } else {
                last.to = Some(at);
            }
        }
    }

    fn stop(&mut self, at: DateTime<Utc>) {
        self.resume(at);
        self.stopped = true;
    }
}

/// Where a metric's current cycle stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineState {
    /// Running, not yet at its warning threshold (as recorded).
    Ok,
    /// A warning was recorded; not yet due.
    Warning,
    /// Due time passed without the metric being met (recorded).
    Breached,
    /// Met (possibly late: see `breached`).
    Met,
    /// Not running now: the ticket waits on its customer (or is resolved).
    Paused,
    /// The ticket was closed before the metric was met.
    Stopped,
}

impl DeadlineState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Warning => "warning",
            Self::Breached => "breached",
            Self::Met => "met",
            Self::Paused => "paused",
            Self::Stopped => "stopped",
        }
    }
}

/// One target of a ticket: its due time and state under the applied policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deadline {
    pub metric: Metric,
    pub cycle: u32,
    pub target_seconds: i64,
    pub started_at: DateTime<Utc>,
    /// When the warning threshold is reached (`None` when paused or no threshold).
    pub warn_at: Option<DateTime<Utc>>,
    /// When the target falls due (`None` while paused).
    pub due_at: Option<DateTime<Utc>>,
    pub met_at: Option<DateTime<Utc>>,
    pub warned: bool,
    pub breached: bool,
    pub state: DeadlineState,
}

/// A ticket's service-level state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TicketSla {
    /// The policy version applied to the ticket, if one matched.
    #[serde(default)]
    pub applied: Option<AppliedSla>,
    #[serde(default)]
    pub clocks: BTreeMap<Metric, MetricClock>,
    #[serde(default)]
    pub status: Status,
    /// The customer's oldest message no human agent has answered yet.
    #[serde(default)]
    pub awaiting_reply_since: Option<DateTime<Utc>>,
    #[serde(default)]
    pub opened_at: Option<DateTime<Utc>>,
    /// Escalation rules that fired on the ticket, as `policy/rule`.
    #[serde(default)]
    pub escalations: BTreeSet<String>,
}

/// Is `metric`'s clock paused while the ticket has `status`?
fn pauses_in(metric: Metric, status: Status) -> bool {
    match metric {
        Metric::Resolution => status == Status::WaitingOnCustomer,
        Metric::FirstResponse | Metric::NextResponse => {
            matches!(status, Status::WaitingOnCustomer | Status::Resolved)
        }
    }
}

/// The key of an escalation rule in [`TicketSla::escalations`].
pub fn escalation_key(policy: &impl std::fmt::Display, rule: &impl std::fmt::Display) -> String {
    format!("{policy}/{rule}")
}

impl TicketSla {
    pub fn clock(&self, metric: Metric) -> Option<&MetricClock> {
        self.clocks.get(&metric)
    }

    fn start(&mut self, metric: Metric, at: DateTime<Utc>) {
        let cycle = self.clocks.get(&metric).map_or(1, |c| c.cycle + 1);
        let paused = pauses_in(metric, self.status);
        self.clocks
            .insert(metric, MetricClock::new(cycle, at, paused));
    }

    fn meet(&mut self, metric: Metric, at: DateTime<Utc>) {
        if let Some(c) = self.clocks.get_mut(&metric)
            && c.is_running()
        {
            c.resume(at);
            c.met_at = Some(at);
        }
    }

    /// Fold one ticket event.
    pub fn apply(&mut self, event: &TicketEvent) {
        match event {
            TicketEvent::Opened { at, .. } => {
                self.status = Status::Open;
                self.opened_at = Some(*at);
                self.awaiting_reply_since = Some(*at);
                self.start(Metric::FirstResponse, *at);
                self.start(Metric::Resolution, *at);
            }
            TicketEvent::MessageAdded {
                author,
                visibility,
                at,
                ..
            } => {
                if author.is_human_agent()
                    && *visibility == crate::ticket::MessageVisibility::Public
                {
                    self.meet(Metric::FirstResponse, *at);
                    self.meet(Metric::NextResponse, *at);
                    self.awaiting_reply_since = None;
                } else if author.is_customer() {
                    if self.awaiting_reply_since.is_none() {
                        self.awaiting_reply_since = Some(*at);
                    }
                    let first_answered = self
                        .clock(Metric::FirstResponse)
                        .is_some_and(|c| c.met_at.is_some());
                    let next_running = self
                        .clock(Metric::NextResponse)
                        .is_some_and(MetricClock::is_running);
                    if first_answered && !next_running && self.status != Status::Closed {
                        self.start(Metric::NextResponse, *at);
                    }
                }
            }
            TicketEvent::StatusChanged { from, to, at, .. } => {
                let (from, to, at) = (*from, *to, *at);
                self.status = to;
                if to == Status::Resolved {
                    self.meet(Metric::Resolution, at);
                }
                if from == Status::Resolved && to != Status::Closed {
                    self.start(Metric::Resolution, at);
                }
                if to == Status::Closed {
                    for c in self.clocks.values_mut().filter(|c| c.is_running()) {
                        c.stop(at);
                    }
                    self.awaiting_reply_since = None;
                    return;
                }
                for (metric, c) in self.clocks.iter_mut().filter(|(_, c)| c.is_running()) {
                    match (pauses_in(*metric, from), pauses_in(*metric, to)) {
                        (false, true) => c.pause(at),
                        (true, false) => c.resume(at),
                        _ => {}
                    }
                }
            }
            TicketEvent::SlaPolicyApplied {
                policy_id,
                policy_version,
                policy_name,
                calendar,
                warning_percent,
                targets,
                at,
                ..
            } => {
                self.applied = Some(AppliedSla {
                    policy_id: *policy_id,
                    policy_version: *policy_version,
                    policy_name: policy_name.clone(),
                    calendar: calendar.clone(),
                    warning_percent: *warning_percent,
                    targets: *targets,
                    applied_at: *at,
                });
            }
            TicketEvent::SlaWarning { metric, cycle, .. } => {
                if let Some(c) = self.clocks.get_mut(metric)
                    && c.cycle == *cycle
                {
                    c.warned = true;
                }
            }
            TicketEvent::SlaBreached { metric, cycle, .. } => {
                if let Some(c) = self.clocks.get_mut(metric)
                    && c.cycle == *cycle
                {
                    c.breached = true;
                }
            }
            TicketEvent::TicketEscalated {
                policy_id, rule_id, ..
            } => {
                self.escalations.insert(escalation_key(policy_id, rule_id));
            }
            _ => {}
        }
    }

    /// The deadline of `metric` under the applied policy, if it has a target.
    pub fn deadline(&self, metric: Metric) -> Option<Deadline> {
        let applied = self.applied.as_ref()?;
        let target = applied.targets.get(metric)?;
        let clock = self.clock(metric)?;
        let paused = clock.is_running() && clock.is_paused();
        // A settled clock keeps the due time it had (its pauses all ended).
        let due_at =
            applied
                .calendar
                .due(clock.started_at, Duration::seconds(target), &clock.pauses);
        let warn_at = applied
            .warning_after(target)
            .filter(|_| clock.is_running())
            .and_then(|w| applied.calendar.due(clock.started_at, w, &clock.pauses));
        let state = if clock.met_at.is_some() {
            DeadlineState::Met
        } else if clock.stopped {
            DeadlineState::Stopped
        } else if clock.breached {
            DeadlineState::Breached
        } else if paused {
            DeadlineState::Paused
        } else if clock.warned {
            DeadlineState::Warning
        } else {
            DeadlineState::Ok
        };
        Some(Deadline {
            metric,
            cycle: clock.cycle,
            target_seconds: target,
            started_at: clock.started_at,
            warn_at: if paused { None } else { warn_at },
            due_at: if paused { None } else { due_at },
            met_at: clock.met_at,
            warned: clock.warned,
            breached: clock.breached,
            state,
        })
    }

    /// Every metric with a target under the applied policy.
    pub fn deadlines(&self) -> Vec<Deadline> {
        Metric::ALL
            .into_iter()
            .filter_map(|m| self.deadline(m))
            .collect()
    }

    /// Has the rule `policy/rule` fired on this ticket?
    pub fn escalated(&self, key: &str) -> bool {
        self.escalations.contains(key)
    }
}
