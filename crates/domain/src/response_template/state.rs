//! The response template as its events shaped it, and deciding commands on it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, TemplateId, WorkspaceId};
use crate::values::{Category, ResourceName};

use super::commands::TemplateCommand;
use super::errors::TemplateRefused;
use super::events::{Sharing, TemplateEvent};

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ResponseTemplate {
    pub id: Option<TemplateId>,
    pub workspace_id: Option<WorkspaceId>,
    pub name: Option<ResourceName>,
    pub category: Option<Category>,
    pub body: String,
    pub sharing: Option<Sharing>,
    pub owner: Option<AgentId>,
    pub deleted: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl ResponseTemplate {
    pub fn exists(&self) -> bool {
        self.id.is_some()
    }

    pub fn is_live(&self) -> bool {
        self.exists() && !self.deleted
    }

    pub fn decide(
        &self,
        command: TemplateCommand,
        now: DateTime<Utc>,
    ) -> Result<Vec<TemplateEvent>, TemplateRefused> {
        match command {
            TemplateCommand::Create(c) => {
                if self.deleted {
                    return Err(TemplateRefused::Deleted);
                }
                if self.exists() {
                    return Ok(vec![]);
                }
                Ok(vec![TemplateEvent::Created {
                    template_id: c.id,
                    workspace_id: c.workspace_id,
                    name: c.name,
                    category: c.category,
                    body: c.body.as_str().to_owned(),
                    sharing: c.sharing,
                    owner: c.owner,
                    at: now,
                }])
            }
            TemplateCommand::Edit(e) => {
                let (Some(current_name), Some(current_sharing)) =
                    (self.name.as_ref().filter(|_| self.is_live()), self.sharing)
                else {
                    return Err(TemplateRefused::NotFound);
                };
                if e.name.is_none()
                    && e.category.is_none()
                    && e.body.is_none()
                    && e.sharing.is_none()
                {
                    return Err(TemplateRefused::NothingToChange);
                }
                let name = e.name.unwrap_or_else(|| current_name.clone());
                let category = e.category.unwrap_or_else(|| self.category.clone());
                let body = e
                    .body
                    .map(|b| b.as_str().to_owned())
                    .unwrap_or_else(|| self.body.clone());
                let sharing = e.sharing.unwrap_or(current_sharing);
                if &name == current_name
                    && category == self.category
                    && body == self.body
                    && sharing == current_sharing
                {
                    return Ok(vec![]);
                }
                Ok(vec![TemplateEvent::Edited {
                    name,
                    category,
                    body,
                    sharing,
                    at: now,
                }])
            }
            TemplateCommand::Delete => {
                if !self.is_live() {
                    return Err(TemplateRefused::NotFound);
                }
                Ok(vec![TemplateEvent::Deleted { at: now }])
            }
        }
    }

    pub fn apply(&mut self, event: TemplateEvent) {
        self.updated_at = Some(event.at());
        match event {
            TemplateEvent::Created {
                template_id,
                workspace_id,
                name,
                category,
                body,
                sharing,
                owner,
                at,
            } => {
                self.id = Some(template_id);
                self.workspace_id = Some(workspace_id);
                self.name = Some(name);
                self.category = category;
                self.body = body;
                self.sharing = Some(sharing);
                self.owner = owner;
                self.created_at = Some(at);
            }
            TemplateEvent::Edited {
                name,
                category,
                body,
                sharing,
                ..
            } => {
                self.name = Some(name);
                self.category = category;
                self.body = body;
                self.sharing = Some(sharing);
            }
            TemplateEvent::Deleted { .. } => self.deleted = true,
        }
    }
}
