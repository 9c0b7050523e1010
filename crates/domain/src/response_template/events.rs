//! What happened to a response template. Names and shapes are frozen once stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, TeamId, TemplateId, WorkspaceId};
use crate::values::{Category, ResourceName};

pub const EVENT_VERSION: &str = "1.0";

/// Who may see and use a template (admins always may).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "scope", rename_all = "snake_case")]
pub enum Sharing {
    /// Only this agent.
    Private { agent_id: AgentId },
    /// Members of this team.
    Team { team_id: TeamId },
    /// Everyone in the workspace.
    Workspace,
}

impl Sharing {
    pub fn scope(&self) -> &'static str {
        match self {
            Self::Private { .. } => "private",
            Self::Team { .. } => "team",
            Self::Workspace => "workspace",
        }
    }

    /// The agent or team id the sharing names, if any.
    pub fn subject(&self) -> Option<String> {
        match self {
            Self::Private { agent_id } => Some(agent_id.to_string()),
            Self::Team { team_id } => Some(team_id.to_string()),
            Self::Workspace => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TemplateEvent {
    /// Version 1.
    #[serde(rename = "TemplateCreated")]
    Created {
        template_id: TemplateId,
        workspace_id: WorkspaceId,
        name: ResourceName,
        #[serde(default)]
        category: Option<Category>,
        body: String,
        sharing: Sharing,
        #[serde(default)]
        owner: Option<AgentId>,
        at: DateTime<Utc>,
    },
    /// The next version: the whole content after the edit.
    #[serde(rename = "TemplateEdited")]
    Edited {
        name: ResourceName,
        #[serde(default)]
        category: Option<Category>,
        body: String,
        sharing: Sharing,
        at: DateTime<Utc>,
    },
    #[serde(rename = "TemplateDeleted")]
    Deleted { at: DateTime<Utc> },
}

impl TemplateEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Created { .. } => "TemplateCreated",
            Self::Edited { .. } => "TemplateEdited",
            Self::Deleted { .. } => "TemplateDeleted",
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Created { at, .. } | Self::Edited { at, .. } | Self::Deleted { at } => *at,
        }
    }
}

impl cqrs_es::DomainEvent for TemplateEvent {
    fn event_type(&self) -> String {
        self.type_name().to_owned()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_owned()
    }
}
