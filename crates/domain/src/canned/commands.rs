//! What can be asked of a canned response. Every field is already parsed.

use crate::ids::{CannedResponseId, WorkspaceId};
use crate::templating::TemplateBody;
use crate::values::{Category, ResourceName};

#[derive(Debug, Clone, PartialEq)]
pub enum CannedCommand {
    Create(CreateCanned),
    Update(UpdateCanned),
    Delete,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateCanned {
    pub id: CannedResponseId,
    pub workspace_id: WorkspaceId,
    pub name: ResourceName,
    pub category: Option<Category>,
    pub body: TemplateBody,
}

/// Change what is given; `category: Some(None)` clears the category.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UpdateCanned {
    pub name: Option<ResourceName>,
    pub category: Option<Option<Category>>,
    pub body: Option<TemplateBody>,
}
