//! The escalation ticker: every tick, for each rule of each enabled
//! escalation policy, the open tickets the deadline read model says it may
//! fire on (and has not), and for each an `Escalate` command. The SQL only
//! pre-selects; the ticket aggregate checks every condition itself and fires
//! a rule at most once per ticket.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tgcrm_domain::escalation::{Action, Condition, EscalationRule};
use tgcrm_domain::ticket::{Escalate, TicketCommand};
use tgcrm_domain::{AgentId, Clock, EscalationPolicyId, TeamId};
use tgcrm_projections::sla::deadlines::{self, Candidate, EscalationQuery};
use tgcrm_projections::sla::policies;
use tgcrm_store::EventStore;

use super::{Issued, Recent, SlaConfig, issue, system_metadata};

/// Who leads a team, for `assign_team_lead` actions.
#[async_trait]
pub trait TeamLeads: Send + Sync {
    async fn lead_of(&self, workspace: &str, team: &TeamId) -> anyhow::Result<Option<AgentId>>;
}

/// No team directory: `assign_team_lead` moves the ticket to the team's queue.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoTeamLeads;

#[async_trait]
impl TeamLeads for NoTeamLeads {
    async fn lead_of(&self, _workspace: &str, _team: &TeamId) -> anyhow::Result<Option<AgentId>> {
        Ok(None)
    }
}

/// The pre-selection of a rule, or `None` when its conditions contradict
/// each other (two priority conditions with no priority in common).
pub(crate) fn query_for(
    workspace: &str,
    policy: &EscalationPolicyId,
    rule: &EscalationRule,
    now: DateTime<Utc>,
    limit: i64,
) -> Option<EscalationQuery> {
    let mut q = EscalationQuery {
        workspace_id: workspace.to_owned(),
        policy_id: policy.to_string(),
        rule_id: rule.id.to_string(),
        limit,
        ..EscalationQuery::default()
    };
    let mut priorities: Option<BTreeSet<String>> = None;
    let mut segments: Option<BTreeSet<String>> = None;
    let before = |secs: i64| now - chrono::Duration::seconds(secs);
    for c in &rule.conditions {
        match c {
            Condition::TicketAge { seconds } => {
                let b = before(*seconds);
                q.opened_before = Some(q.opened_before.map_or(b, |x| x.min(b)));
            }
            Condition::NoAgentReply { seconds } => {
                let b = before(*seconds);
                q.waiting_since_before = Some(q.waiting_since_before.map_or(b, |x| x.min(b)));
            }
            Condition::Priority { priorities: ps } => {
                let set: BTreeSet<String> = ps.iter().map(|p| p.as_str().to_owned()).collect();
                priorities = Some(match priorities {
                    None => set,
                    Some(old) => old.intersection(&set).cloned().collect(),
                });
            }
            Condition::Segment { segments: ss } => {
                let set: BTreeSet<String> = ss.iter().map(|s| s.as_str().to_owned()).collect();
                segments = Some(match segments {
                    None => set,
                    Some(old) => old.intersection(&set).cloned().collect(),
                });
            }
            Condition::SlaWarning { metric } => {
                if q.deadline_states.is_empty() {
                    q.deadline_states = vec!["warning", "breached"];
                    q.deadline_metric = metric.map(|m| m.as_str().to_owned());
                }
            }
            Condition::SlaBreach { metric } => {
                q.deadline_states = vec!["breached"];
                q.deadline_metric = metric.map(|m| m.as_str().to_owned());
            }
        }
    }
    if priorities.as_ref().is_some_and(BTreeSet::is_empty)
        || segments.as_ref().is_some_and(BTreeSet::is_empty)
    {
        return None;
    }
    q.priorities = priorities.unwrap_or_default().into_iter().collect();
    q.segments = segments.unwrap_or_default().into_iter().collect();
    Some(q)
}

/// The event that set off a rule on a ticket, for causation.
async fn trigger_event(
    store: &EventStore,
    rule: &EscalationRule,
    c: &Candidate,
) -> anyhow::Result<String> {
    let has = |f: fn(&Condition) -> bool| rule.conditions.iter().any(f);
    let db = store.db();
    if has(|c| matches!(c, Condition::SlaBreach { .. }))
        && let Some(id) = deadlines::deadline_event(db, &c.ticket_id, "SlaBreached").await?
    {
        return Ok(id);
    }
    if has(|c| matches!(c, Condition::SlaWarning { .. })) {
        for t in ["SlaWarning", "SlaBreached"] {
            if let Some(id) = deadlines::deadline_event(db, &c.ticket_id, t).await? {
                return Ok(id);
            }
        }
    }
    if has(|c| matches!(c, Condition::NoAgentReply { .. }))
        && let Some(id) = &c.awaiting_event_id
    {
        return Ok(id.clone());
    }
    if has(|c| matches!(c, Condition::TicketAge { .. })) {
        return Ok(c.opened_event_id.clone());
    }
    Ok(c.last_event_id.clone())
}

/// Look at every rule once; returns how many escalations were recorded.
pub(crate) async fn tick(
    store: &EventStore,
    clock: &dyn Clock,
    config: SlaConfig,
    team_leads: &dyn TeamLeads,
    recent: &mut Recent,
) -> anyhow::Result<usize> {
    let now = clock.now();
    let mut recorded = 0;
    for (workspace, policy_id, version, definition) in
        policies::escalation_policies(store.db(), None).await?
    {
        for (i, rule) in definition.rules.iter().enumerate() {
            let Some(q) = query_for(&workspace, &policy_id, rule, now, config.batch) else {
                continue;
            };
            let candidates = deadlines::escalation_candidates(store.db(), &q).await?;
            if candidates.is_empty() {
                continue;
            }
            let mut leads = BTreeMap::new();
            for a in &rule.actions {
                if let Action::AssignTeamLead { team_id, .. } = a
                    && let Some(lead) = team_leads.lead_of(&workspace, team_id).await?
                {
                    leads.insert(*team_id, lead);
                }
            }
            for c in candidates {
                let key = format!("{}/{}/{}", c.ticket_id, policy_id, rule.id);
                if !recent.should_ask(key, Duration::from_secs(5)) {
                    continue;
                }
                let causation = trigger_event(store, rule, &c).await?;
                let command = TicketCommand::Escalate(Escalate {
                    policy_id,
                    policy_version: version,
                    tier: u32::try_from(i + 1).unwrap_or(u32::MAX),
                    rule: rule.clone(),
                    team_leads: leads.clone(),
                });
                let outcome = issue(
                    store,
                    clock,
                    &workspace,
                    &c.ticket_id,
                    system_metadata("escalation", Some(causation), None),
                    command,
                )
                .await?;
                if outcome == Issued::Recorded {
                    recorded += 1;
                    metrics::counter!("escalations_total").increment(1);
                }
            }
        }
    }
    Ok(recorded)
}
