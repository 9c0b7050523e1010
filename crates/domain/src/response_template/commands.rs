//! What can be asked of a response template. Every field is already parsed.

use crate::ids::{AgentId, TemplateId, WorkspaceId};
use crate::templating::TemplateBody;
use crate::values::{Category, ResourceName};

use super::events::Sharing;

#[derive(Debug, Clone, PartialEq)]
pub enum TemplateCommand {
    Create(CreateTemplate),
    Edit(EditTemplate),
    Delete,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateTemplate {
    pub id: TemplateId,
    pub workspace_id: WorkspaceId,
    pub name: ResourceName,
    pub category: Option<Category>,
    pub body: TemplateBody,
    pub sharing: Sharing,
    /// The agent who wrote it, when the author is an agent.
    pub owner: Option<AgentId>,
}

/// Change what is given; every change that alters something is a new version.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EditTemplate {
    pub name: Option<ResourceName>,
    pub category: Option<Option<Category>>,
    pub body: Option<TemplateBody>,
    pub sharing: Option<Sharing>,
}
