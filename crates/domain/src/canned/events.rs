//! What happened to a canned response. Names and shapes are frozen once stored.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CannedResponseId, WorkspaceId};
use crate::values::{Category, ResourceName};

pub const EVENT_VERSION: &str = "1.0";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum CannedEvent {
    #[serde(rename = "CannedResponseCreated")]
    Created {
        canned_response_id: CannedResponseId,
        workspace_id: WorkspaceId,
        name: ResourceName,
        #[serde(default)]
        category: Option<Category>,
        body: String,
        at: DateTime<Utc>,
    },
    /// The whole content after the change.
    #[serde(rename = "CannedResponseUpdated")]
    Updated {
        name: ResourceName,
        #[serde(default)]
        category: Option<Category>,
        body: String,
        at: DateTime<Utc>,
    },
    #[serde(rename = "CannedResponseDeleted")]
    Deleted { at: DateTime<Utc> },
}

impl CannedEvent {
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Created { .. } => "CannedResponseCreated",
            Self::Updated { .. } => "CannedResponseUpdated",
            Self::Deleted { .. } => "CannedResponseDeleted",
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Self::Created { at, .. } | Self::Updated { at, .. } | Self::Deleted { at } => *at,
        }
    }
}

impl cqrs_es::DomainEvent for CannedEvent {
    fn event_type(&self) -> String {
        self.type_name().to_owned()
    }

    fn event_version(&self) -> String {
        EVENT_VERSION.to_owned()
    }
}
