//! Parsed value types. Commands are built only from these, so a command that
//! exists is a command whose fields are valid ("parse, don't validate").

mod attachment;
mod customer;
mod fields;
mod label;
mod priority;
mod status;
mod tag;
mod text;

pub use attachment::{Attachment, AttachmentKind};
pub use customer::{Customer, CustomerName, TelegramUserId, TelegramUsername};
pub use fields::{FieldKey, Fields};
pub use label::{ArticleBody, ArticleTitle, Category, ResourceName};
pub use priority::Priority;
pub use status::Status;
pub use tag::Tag;
pub use text::{MessageText, Note, Subject};

/// A value that failed to parse: which field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ValueError {
    pub field: String,
    pub reason: String,
}

impl ValueError {
    pub fn new(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
