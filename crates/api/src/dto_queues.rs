//! Request and response bodies of teams and queues.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Distinguishes an absent field from an explicit `null`.
pub(crate) mod nullable {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    /// Unique in the workspace; 1–100 characters.
    pub name: String,
    /// `round_robin`, `least_loaded` (default) or `skills`.
    pub strategy: Option<String>,
    /// Most active tickets per member who sets no capacity of their own (1–1000).
    pub default_capacity: Option<i64>,
    pub lead_agent_id: Option<String>,
    /// Agent ids; each agent's teams gain this team.
    #[serde(default)]
    pub members: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateTeam {
    pub name: Option<String>,
    pub strategy: Option<String>,
    /// `null` clears it (the workspace default applies).
    #[serde(default, with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub default_capacity: Option<Option<i64>>,
    /// `null` removes the lead.
    #[serde(default, with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub lead_agent_id: Option<Option<String>>,
    /// The whole member list: agents not named leave the team.
    pub members: Option<Vec<String>>,
}

/// A team member with their current load.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub agent_id: String,
    pub name: String,
    pub availability: String,
    pub active: bool,
    /// Active tickets assigned to them now.
    pub load: i64,
    /// The most they are given automatically in this queue.
    pub capacity: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamView {
    pub id: String,
    pub name: String,
    pub lead_agent_id: Option<String>,
    pub strategy: String,
    /// Distribution paused (tickets still enter the queue).
    pub paused: bool,
    pub default_capacity: Option<u32>,
    /// From the read model: may trail a write by a moment.
    pub members: Vec<MemberView>,
    pub created_at: Option<DateTime<Utc>>,
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamPage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<tgcrm_projections::teams::TeamRow>,
    pub next_cursor: Option<String>,
}

/// A waiting ticket, in queue order.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItemView {
    /// Its place in this page's queue, counting from 1 on the first page.
    pub position: i64,
    pub ticket_id: String,
    pub subject: Option<String>,
    pub team_id: Option<String>,
    pub priority: String,
    pub status: String,
    /// Skills it needs (its `skill:<name>` tags).
    pub needs: Vec<String>,
    pub opened_at: DateTime<Utc>,
    pub waiting_since: DateTime<Utc>,
    pub sla_due_at: Option<DateTime<Utc>>,
    /// Placed by hand (moved or pinned), ahead of the default order.
    pub placed: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueuePage {
    /// The team id, or `all`.
    pub queue: String,
    pub paused: bool,
    pub items: Vec<QueueItemView>,
    pub next_cursor: Option<String>,
}

/// Waiting tickets per priority.
#[derive(Debug, Serialize, ToSchema, Default)]
pub struct PriorityCounts {
    pub urgent: i64,
    pub high: i64,
    pub normal: i64,
    pub low: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueStatsView {
    pub queue: String,
    pub paused: bool,
    pub strategy: String,
    pub default_capacity: Option<u32>,
    /// Waiting tickets.
    pub depth: i64,
    pub oldest_waiting_since: Option<DateTime<Utc>>,
    /// Seconds the oldest waiting ticket has waited.
    pub oldest_wait_seconds: Option<i64>,
    pub by_priority: PriorityCounts,
    /// Members (every agent for `all`) with load against capacity.
    pub agents: Vec<MemberView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueSettingsView {
    pub queue: String,
    pub paused: bool,
    pub strategy: String,
    pub default_capacity: Option<u32>,
    /// Tickets placed by hand, in order (may name tickets that left the queue since).
    pub manual_order: Vec<String>,
    pub version: i64,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CapacityBody {
    /// 1–1000, or `null` to clear it (required).
    #[serde(default, with = "nullable")]
    #[schema(value_type = Option<i64>)]
    pub default_capacity: Option<Option<i64>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StrategyBody {
    /// `round_robin`, `least_loaded` or `skills`.
    pub strategy: String,
}

/// Give exactly one of `position` and `pin`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderBody {
    pub ticket_id: String,
    /// Move to this place (1 = first); the tickets ahead of it keep theirs.
    pub position: Option<i64>,
    /// `true` pins it to the top; `false` returns it to the default order.
    pub pin: Option<bool>,
}
