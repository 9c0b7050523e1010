//! Response templates: like canned responses, plus versions (every edit is a
//! new version; a reply records the version it used), sharing (private to an
//! agent, a team, or the whole workspace) and conditional blocks. The
//! template's version is its stream's sequence: events are only its creation
//! and edits, and a deletion ends it.

mod aggregate;
mod commands;
mod errors;
mod events;
mod state;

#[cfg(test)]
mod tests;

pub use commands::{CreateTemplate, EditTemplate, TemplateCommand};
pub use errors::TemplateRefused;
pub use events::{EVENT_VERSION, Sharing, TemplateEvent};
pub use state::ResponseTemplate;

/// Frozen aggregate type name.
pub const AGGREGATE_TYPE: &str = "response_template";
