//! Choosing an agent for a waiting ticket. Pure: the candidates, their load and
//! capacity are put into the call; the answer names the chosen agent (if any)
//! and records every candidate considered and why each one lost, so the
//! `TicketAssigned` event can answer "why did X get this ticket".
//!
//! Strategies:
//! - `round_robin`: the eligible agent who was given a ticket least recently
//!   (one never given one first);
//! - `least_loaded`: the eligible agent with the fewest active tickets (ties:
//!   round robin);
//! - `skills`: only agents who have every skill the ticket needs, then least
//!   loaded.
//!
//! Eligible, whatever the strategy: online, below capacity, and not the agent
//! who just released the ticket back to the queue.
//!
//! A ticket's needs are its tags of the form `skill:<name>` (see
//! [`needs_from_tags`]); an agent's skills are plain names (`billing`), a
//! `skill:` prefix on them is ignored.

#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::agent::Availability;
use crate::ids::{AgentId, TeamId};
use crate::values::{Tag, ValueError};

/// Capacity of an agent when neither they nor their queue set one.
pub const DEFAULT_CAPACITY: u32 = 5;
/// The tag prefix that marks a skill a ticket needs: `skill:billing`.
pub const SKILL_TAG_PREFIX: &str = "skill:";
/// At most this many candidates are written into a decision (the chosen one
/// first, then the others by rank); `considered` still counts them all.
pub const MAX_RECORDED_CANDIDATES: usize = 50;

/// How a queue hands out its tickets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    RoundRobin,
    #[default]
    LeastLoaded,
    Skills,
}

impl Strategy {
    pub const ALL: [Strategy; 3] = [Self::RoundRobin, Self::LeastLoaded, Self::Skills];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoundRobin => "round_robin",
            Self::LeastLoaded => "least_loaded",
            Self::Skills => "skills",
        }
    }
}

impl FromStr for Strategy {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| {
                ValueError::new(
                    "strategy",
                    format!("unknown strategy '{s}'; expected round_robin, least_loaded or skills"),
                )
            })
    }
}

impl fmt::Display for Strategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The most tickets an agent is given at once: their own setting, else their
/// queue's default, else the workspace's default, else [`DEFAULT_CAPACITY`].
pub fn effective_capacity(
    agent: Option<u32>,
    queue_default: Option<u32>,
    workspace_default: Option<u32>,
) -> u32 {
    agent
        .or(queue_default)
        .or(workspace_default)
        .unwrap_or(DEFAULT_CAPACITY)
}

/// The skills a ticket needs: the names of its `skill:<name>` tags.
pub fn needs_from_tags<'a>(tags: impl IntoIterator<Item = &'a Tag>) -> BTreeSet<Tag> {
    tags.into_iter()
        .filter_map(|t| t.as_str().strip_prefix(SKILL_TAG_PREFIX))
        .filter_map(|name| Tag::parse(name).ok())
        .collect()
}

/// An agent's skills as plain names (a `skill:` prefix dropped).
pub fn skill_names<'a>(skills: impl IntoIterator<Item = &'a Tag>) -> BTreeSet<Tag> {
    skills
        .into_iter()
        .filter_map(|s| match s.as_str().strip_prefix(SKILL_TAG_PREFIX) {
            Some(name) => Tag::parse(name).ok(),
            None => Some(s.clone()),
        })
        .collect()
}

/// An agent who might take the ticket, as the caller sees them now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub agent_id: AgentId,
    pub availability: Availability,
    /// Active tickets assigned to them now.
    pub load: u32,
    /// Their effective capacity for this queue ([`effective_capacity`]).
    pub capacity: u32,
    pub skills: BTreeSet<Tag>,
    /// When they were last given a ticket, as an increasing number (a log
    /// position); `None` if never. Round robin picks the smallest.
    pub last_assigned: Option<i64>,
}

/// What the choice is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub strategy: Strategy,
    /// The queue: a team, or `None` for the workspace queue.
    pub team_id: Option<TeamId>,
    /// Skills the ticket needs ([`needs_from_tags`]).
    pub needs: BTreeSet<Tag>,
    /// The agent who released the ticket back to the queue, if any: not
    /// handed the same ticket again automatically.
    pub released_by: Option<AgentId>,
}

/// Why a candidate did not get the ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Rejection {
    /// Away or offline.
    NotOnline { availability: Availability },
    /// Already at (or above) capacity.
    AtCapacity,
    /// Lacks skills the ticket needs (skills strategy).
    MissingSkills { missing: BTreeSet<Tag> },
    /// Released this ticket back to the queue.
    ReleasedIt,
    /// Eligible, but another agent ranked first.
    Outranked,
}

/// One candidate as the decision saw them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Considered {
    pub agent_id: AgentId,
    pub availability: Availability,
    pub load: u32,
    pub capacity: u32,
    pub chosen: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<Rejection>,
}

/// Why a ticket went where it went: stored on the `TicketAssigned` event of
/// an automatic assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssignmentDecision {
    pub strategy: Strategy,
    /// The queue the ticket was taken from (`None`: the workspace queue).
    #[serde(default)]
    pub team_id: Option<TeamId>,
    #[serde(default)]
    pub needs: BTreeSet<Tag>,
    /// How many candidates there were (the list may be cut at [`MAX_RECORDED_CANDIDATES`]).
    #[serde(default)]
    pub considered: u32,
    /// The candidates, the chosen one first, then the eligible by rank, then the rejected.
    #[serde(default)]
    pub candidates: Vec<Considered>,
}

impl AssignmentDecision {
    /// The agent who got the ticket, if anyone fit.
    pub fn chosen(&self) -> Option<AgentId> {
        self.candidates
            .iter()
            .find(|c| c.chosen)
            .map(|c| c.agent_id)
    }
}

fn rejection(request: &Request, c: &Candidate) -> Option<Rejection> {
    if c.availability != Availability::Online {
        return Some(Rejection::NotOnline {
            availability: c.availability,
        });
    }
    if request.released_by == Some(c.agent_id) {
        return Some(Rejection::ReleasedIt);
    }
    if c.load >= c.capacity {
        return Some(Rejection::AtCapacity);
    }
    if request.strategy == Strategy::Skills {
        let have = skill_names(&c.skills);
        let missing: BTreeSet<Tag> = request.needs.difference(&have).cloned().collect();
        if !missing.is_empty() {
            return Some(Rejection::MissingSkills { missing });
        }
    }
    None
}

/// Round robin order: never assigned first, then longest ago; then by id.
fn by_turn(a: &Candidate, b: &Candidate) -> Ordering {
    let turn = |c: &Candidate| c.last_assigned.map_or((0, 0), |p| (1, p));
    turn(a)
        .cmp(&turn(b))
        .then_with(|| a.agent_id.cmp(&b.agent_id))
}

fn rank(strategy: Strategy, a: &Candidate, b: &Candidate) -> Ordering {
    match strategy {
        Strategy::RoundRobin => by_turn(a, b),
        Strategy::LeastLoaded | Strategy::Skills => a.load.cmp(&b.load).then_with(|| by_turn(a, b)),
    }
}

/// Choose among `candidates` for a ticket described by `request`. Never an
/// agent who is not online, at capacity, or lacks a needed skill (skills).
pub fn choose(request: &Request, candidates: &[Candidate]) -> AssignmentDecision {
    let mut eligible: Vec<&Candidate> = Vec::new();
    let mut rejected: Vec<Considered> = Vec::new();
    for c in candidates {
        match rejection(request, c) {
            None => eligible.push(c),
            Some(r) => rejected.push(Considered {
                agent_id: c.agent_id,
                availability: c.availability,
                load: c.load,
                capacity: c.capacity,
                chosen: false,
                rejected: Some(r),
            }),
        }
    }
    eligible.sort_by(|a, b| rank(request.strategy, a, b));
    rejected.sort_by_key(|c| c.agent_id);
    let mut list: Vec<Considered> = eligible
        .iter()
        .enumerate()
        .map(|(i, c)| Considered {
            agent_id: c.agent_id,
            availability: c.availability,
            load: c.load,
            capacity: c.capacity,
            chosen: i == 0,
            rejected: (i != 0).then_some(Rejection::Outranked),
        })
        .collect();
    list.extend(rejected);
    let considered = u32::try_from(list.len()).unwrap_or(u32::MAX);
    list.truncate(MAX_RECORDED_CANDIDATES);
    AssignmentDecision {
        strategy: request.strategy,
        team_id: request.team_id,
        needs: request.needs.clone(),
        considered,
        candidates: list,
    }
}
