//! The canned response as its events shaped it, and deciding commands on it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{CannedResponseId, WorkspaceId};
use crate::values::{Category, ResourceName};

use super::commands::CannedCommand;
use super::errors::CannedError;
use super::events::CannedEvent;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct CannedResponse {
    pub id: Option<CannedResponseId>,
    pub workspace_id: Option<WorkspaceId>,
    pub name: Option<ResourceName>,
    pub category: Option<Category>,
    pub body: String,
    pub deleted: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl CannedResponse {
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    /// Exists and was not deleted.
    pub fn is_live(&self) -> bool {
        self.exists() && !self.deleted
    }

    pub fn decide(
        &self,
        command: CannedCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<CannedEvent>, CannedError> {
        match command {
            CannedCommand::Create(c) => {
                if self.deleted {
                    return Err(CannedError::Deleted);
                }
                if self.exists() {
                    // The same id again: a repeated request.
                    return Ok(vec![]);
                }
                Ok(vec![CannedEvent::Created {
                    canned_response_id: c.id,
                    workspace_id: c.workspace_id,
                    name: c.name,
                    category: c.category,
                    body: c.body.as_str().to_owned(),
                    at: now,
                }])
            }
            CannedCommand::Update(u) => {
                let Some(current_name) = self.name.as_ref().filter(|_| self.is_live()) else {
                    return Err(CannedError::NotFound);
                };
                if u.name.is_none() && u.category.is_none() && u.body.is_none() {
                    return Err(CannedError::NothingToChange);
                }
                let name = u.name.unwrap_or_else(|| current_name.clone());
                let category = u.category.unwrap_or_else(|| self.category.clone());
                let body = u
                    .body
                    .map(|b| b.as_str().to_owned())
                    .unwrap_or_else(|| self.body.clone());
                if &name == current_name && category == self.category && body == self.body {
                    return Ok(vec![]);
                }
                Ok(vec![CannedEvent::Updated {
                    name,
                    category,
                    body,
                    at: now,
                }])
            }
            CannedCommand::Delete => {
                if !self.is_live() {
                    return Err(CannedError::NotFound);
                }
                Ok(vec![CannedEvent::Deleted { at: now }])
            }
        }
    }

    pub fn apply(&mut self, event: CannedEvent) {
        self.updated_at = Some(event.at());
        match event {
            CannedEvent::Created {
                canned_response_id,
                workspace_id,
                name,
                category,
                body,
                at,
            } => {
                self.id = Some(canned_response_id);
                self.workspace_id = Some(workspace_id);
                self.name = Some(name);
                self.category = category;
                self.body = body;
                self.created_at = Some(at);
            }
            CannedEvent::Updated {
                name,
                category,
                body,
                ..
            } => {
                self.name = Some(name);
                self.category = category;
                self.body = body;
            }
            CannedEvent::Deleted { .. } => self.deleted = true,
        }
    }
}
