//! An agent: a person who works tickets, known in Telegram by their user id.
//! Registration, profile, availability and deactivation are events, so who
//! changed what is on record.

mod aggregate;
mod decide;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, TeamId, WorkspaceId};
use crate::values::{Tag, TelegramUserId, TelegramUsername, ValueError};

/// Frozen aggregate type name.
pub const AGGREGATE_TYPE: &str = "agent";
pub const EVENT_VERSION: &str = "1.0";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    Online,
    Away,
    #[default]
    Offline,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Away => "away",
            Self::Offline => "offline",
        }
    }
}

impl FromStr for Availability {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "online" => Ok(Self::Online),
            "away" => Ok(Self::Away),
            "offline" => Ok(Self::Offline),
            other => Err(ValueError::new(
                "availability",
                format!("unknown availability '{other}'; expected online, away or offline"),
            )),
        }
    }
}

impl fmt::Display for Availability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An agent's display name: 1–100 characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AgentName(String);

impl AgentName {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let t = raw.trim();
        if t.is_empty() || t.chars().count() > 100 {
            return Err(ValueError::new("name", "must be 1–100 characters"));
        }
        Ok(Self(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The editable part of an agent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub name: AgentName,
    #[serde(default)]
    pub telegram_user_id: Option<TelegramUserId>,
    #[serde(default)]
    pub telegram_username: Option<TelegramUsername>,
    #[serde(default)]
    pub teams: BTreeSet<TeamId>,
    #[serde(default)]
    pub skills: BTreeSet<Tag>,
    /// Most active tickets the agent is given at once (1–1000); `None`: the
    /// queue's default capacity applies (see `routing::effective_capacity`).
    #[serde(default)]
    pub max_concurrent: Option<u32>,
}

impl Profile {
    pub const MAX_CONCURRENT: u32 = 1_000;
}

#[derive(Debug, Clone, PartialEq)]
pub enum AgentCommand {
    Register {
        agent_id: AgentId,
        workspace_id: WorkspaceId,
        profile: Profile,
    },
    /// Replace the profile (callers merge partial updates first).
    ChangeProfile(Profile),
    SetAvailability(Availability),
    Deactivate,
    Reactivate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AgentEvent {
    #[serde(rename = "AgentRegistered")]
    Registered {
        agent_id: AgentId,
        workspace_id: WorkspaceId,
        profile: Profile,
        at: DateTime<Utc>,
    },
    #[serde(rename = "AgentProfileChanged")]
    ProfileChanged { profile: Profile, at: DateTime<Utc> },
    #[serde(rename = "AgentAvailabilityChanged")]
    AvailabilityChanged {
        from: Availability,
        to: Availability,
        at: DateTime<Utc>,
    },
    #[serde(rename = "AgentDeactivated")]
    Deactivated { at: DateTime<Utc> },
    #[serde(rename = "AgentReactivated")]
    Reactivated { at: DateTime<Utc> },
}

impl AgentEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Registered { .. } => "AgentRegistered",
            Self::ProfileChanged { .. } => "AgentProfileChanged",
            Self::AvailabilityChanged { .. } => "AgentAvailabilityChanged",
            Self::Deactivated { .. } => "AgentDeactivated",
            Self::Reactivated { .. } => "AgentReactivated",
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Registered { at, .. }
            | Self::ProfileChanged { at, .. }
            | Self::AvailabilityChanged { at, .. }
            | Self::Deactivated { at }
            | Self::Reactivated { at } => *at,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    #[error("the agent does not exist")]
    NotFound,
    #[error("the agent is deactivated; reactivate them first")]
    Deactivated,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Agent {
    pub id: Option<AgentId>,
    pub workspace_id: Option<WorkspaceId>,
    pub profile: Option<Profile>,
    pub availability: Availability,
    pub active: bool,
    pub registered_at: Option<DateTime<Utc>>,
}

impl Agent {
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    pub fn apply(&mut self, event: AgentEvent) {
        match event {
            AgentEvent::Registered {
                agent_id,
                workspace_id,
                profile,
                at,
            } => {
                self.id = Some(agent_id);
                self.workspace_id = Some(workspace_id);
                self.profile = Some(profile);
                self.active = true;
                self.registered_at = Some(at);
            }
            AgentEvent::ProfileChanged { profile, .. } => self.profile = Some(profile),
            AgentEvent::AvailabilityChanged { to, .. } => self.availability = to,
            AgentEvent::Deactivated { .. } => {
                self.active = false;
                self.availability = Availability::Offline;
            }
            AgentEvent::Reactivated { .. } => self.active = true,
        }
    }
}
