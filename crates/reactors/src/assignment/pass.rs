//! One distribution pass over a workspace: its queues are merged by urgency
//! (each queue keeps its own order, manual places included), and each ticket
//! goes to the agent the routing chooses, until nobody fits.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};

use anyhow::Context;
use tgcrm_domain::agent::Availability;
use tgcrm_domain::routing::{Candidate, Request, Strategy, choose, effective_capacity};
use tgcrm_domain::ticket::{AutoAssign, TicketCommand};
use tgcrm_domain::values::Tag;
use tgcrm_domain::{AgentId, Clock, TeamId, TicketId, WorkspaceId};
use tgcrm_projections::queue::WaitingTicket;
use tgcrm_projections::{queue, teams};
use tgcrm_store::commands::CommandContext;
use tgcrm_store::tickets::CommandError;
use tgcrm_store::{EventStore, Metadata, Source, StoredEvent};

use super::ACTOR;

/// An agent as distribution tracks them during a pass.
struct AgentState {
    availability: Availability,
    active: bool,
    max_concurrent: Option<u32>,
    skills: BTreeSet<Tag>,
    load: u32,
    last_assigned: Option<i64>,
}

/// A queue's settings as distribution needs them.
struct QueueSettings {
    strategy: Strategy,
    paused: bool,
    default_capacity: Option<u32>,
}

fn strategy(raw: &str) -> Strategy {
    raw.parse().unwrap_or_default()
}

fn capacity(raw: Option<i64>) -> Option<u32> {
    raw.and_then(|c| u32::try_from(c).ok())
}

fn tags(raw: &serde_json::Value) -> BTreeSet<Tag> {
    let names: Vec<String> = match raw {
        serde_json::Value::String(s) => serde_json::from_str(s).unwrap_or_default(),
        v => serde_json::from_value(v.clone()).unwrap_or_default(),
    };
    names.iter().filter_map(|n| Tag::parse(n).ok()).collect()
}

/// The default-order key of a waiting ticket: what decides which queue's
/// head goes next.
fn urgency(t: &WaitingTicket) -> impl Ord + '_ {
    (
        t.priority_rank,
        t.k_due,
        t.waiting_since,
        t.ticket_id.as_str(),
    )
}

pub async fn distribute(
    store: &EventStore,
    clock: &dyn Clock,
    workspace: &str,
    trigger: &StoredEvent,
) -> anyhow::Result<()> {
    let db = store.db();
    let general = teams::workspace_settings(db, workspace).await?;
    if general.paused || !teams::anyone_online(db, workspace).await? {
        return Ok(());
    }
    // Before the agents' loads: with nothing waiting, they are not counted.
    let waiting = queue::waiting(db, workspace).await?;
    if waiting.is_empty() {
        return Ok(());
    }
    let general = QueueSettings {
        strategy: strategy(&general.strategy),
        paused: false,
        default_capacity: capacity(general.default_capacity),
    };
    let last: HashMap<String, i64> = queue::last_assigned(db, workspace)
        .await?
        .into_iter()
        .collect();
    let mut agents: HashMap<String, AgentState> = HashMap::new();
    for m in teams::members(db, workspace, None).await? {
        agents.insert(
            m.agent_id.clone(),
            AgentState {
                availability: m.availability.parse().unwrap_or_default(),
                active: m.active,
                max_concurrent: capacity(m.max_concurrent),
                skills: tags(&m.skills),
                load: u32::try_from(m.load).unwrap_or(u32::MAX),
                last_assigned: last.get(&m.agent_id).copied(),
            },
        );
    }
    let settings: HashMap<String, QueueSettings> = teams::all_settings(db, workspace)
        .await?
        .into_iter()
        .map(|t| {
            (
                t.team_id,
                QueueSettings {
                    strategy: strategy(&t.strategy),
                    paused: t.paused,
                    default_capacity: capacity(t.default_capacity),
                },
            )
        })
        .collect();
    let mut members: HashMap<String, Vec<String>> = HashMap::new();
    for m in teams::memberships(db, workspace).await? {
        members.entry(m.team_id).or_default().push(m.agent_id);
    }
    let mut queues: Vec<(Option<String>, VecDeque<WaitingTicket>)> = Vec::new();
    for t in waiting {
        match queues.last_mut() {
            Some((team, q)) if *team == t.team_id => q.push_back(t),
            _ => queues.push((t.team_id.clone(), VecDeque::from([t]))),
        }
    }
    let ctx = CommandContext {
        workspace_id: WorkspaceId::parse(workspace).context("the event's workspace")?,
        metadata: Metadata {
            actor: ACTOR.to_owned(),
            source: Source::System,
            correlation_id: trigger
                .correlation_id
                .clone()
                .or_else(|| Some(trigger.event_id.clone())),
            causation_id: Some(trigger.event_id.clone()),
            request_id: None,
        },
        expected_version: None,
    };
    let mut blocked: HashSet<usize> = HashSet::new();
    let mut turn = agents
        .values()
        .filter_map(|a| a.last_assigned)
        .max()
        .unwrap_or(0);
    loop {
        // The most urgent head among the queues still handing out.
        let next = queues
            .iter()
            .enumerate()
            .filter(|(i, (team, q))| {
                !blocked.contains(i)
                    && !q.is_empty()
                    && team
                        .as_ref()
                        .is_none_or(|t| settings.get(t).is_some_and(|s| !s.paused))
            })
            .filter_map(|(i, (_, q))| q.front().map(|t| (i, t)))
            .min_by(|(_, a), (_, b)| urgency(a).cmp(&urgency(b)))
            .map(|(i, _)| i);
        let Some(index) = next else {
            break;
        };
        let (team, q) = &mut queues[index];
        let Some(ticket) = q.pop_front() else {
            continue;
        };
        let queue_settings = match team {
            Some(t) => settings.get(t).unwrap_or(&general),
            None => &general,
        };
        let candidate_ids: Vec<&String> = match team {
            Some(t) => members
                .get(t)
                .map(|m| m.iter().collect())
                .unwrap_or_default(),
            None => agents.keys().collect(),
        };
        let mut candidates: Vec<Candidate> = candidate_ids
            .into_iter()
            .filter_map(|id| {
                let a = agents.get(id)?;
                if !a.active {
                    return None;
                }
                Some(Candidate {
                    agent_id: id.parse().ok()?,
                    availability: a.availability,
                    load: a.load,
                    capacity: effective_capacity(
                        a.max_concurrent,
                        queue_settings.default_capacity,
                        general.default_capacity,
                    ),
                    skills: a.skills.clone(),
                    last_assigned: a.last_assigned,
                })
            })
            .collect();
        candidates.sort_by_key(|c| c.agent_id);
        let team_id: Option<TeamId> = match team {
            Some(t) => match t.parse() {
                Ok(t) => Some(t),
                Err(_) => {
                    blocked.insert(index);
                    continue;
                }
            },
            None => None,
        };
        let released_by: Option<AgentId> =
            ticket.released_by.as_deref().and_then(|a| a.parse().ok());
        let request = Request {
            strategy: queue_settings.strategy,
            team_id,
            needs: tags(&ticket.needs),
            released_by,
        };
        let decision = choose(&request, &candidates);
        let Some(agent) = decision.chosen() else {
            // Everyone in this queue would be turned away for the same reason,
            // unless tickets differ in needs (skills) or in who released them.
            if request.strategy != Strategy::Skills && released_by.is_none() {
                blocked.insert(index);
            }
            continue;
        };
        let ticket_id: TicketId = match ticket.ticket_id.parse() {
            Ok(t) => t,
            Err(_) => continue,
        };
        let command = TicketCommand::AutoAssign(AutoAssign { agent, decision });
        match tgcrm_store::tickets::execute(store, clock, &ticket_id, &ctx, command).await {
            Ok(outcome) if !outcome.events.is_empty() => {
                metrics::counter!("assignments_total", "strategy" => request.strategy.as_str())
                    .increment(1);
                tracing::info!(ticket = %ticket_id, agent = %agent, strategy = %request.strategy, "ticket assigned");
                if let Some(a) = agents.get_mut(&agent.to_string()) {
                    a.load = a.load.saturating_add(1);
                    turn += 1;
                    a.last_assigned = Some(turn);
                }
            }
            Ok(_) => {
                tracing::debug!(ticket = %ticket_id, "ticket no longer waiting; skipped");
            }
            Err(CommandError::NotFound | CommandError::Refused(_)) => {
                tracing::debug!(ticket = %ticket_id, "ticket refused automatic assignment; skipped");
            }
            Err(e) => return Err(anyhow::Error::new(e).context("assigning a ticket")),
        }
    }
    Ok(())
}
