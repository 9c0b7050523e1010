//! Attachments are references (a Telegram `file_id` or a URL), never the bytes.

use serde::{Deserialize, Serialize};

use super::ValueError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Photo,
    Document,
    Voice,
    Video,
    Audio,
    Sticker,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    pub kind: AttachmentKind,
    /// Telegram `file_id`, or an http(s) URL.
    pub reference: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
}

impl Attachment {
    pub const MAX_PER_MESSAGE: usize = 10;

    pub fn parse(
        kind: AttachmentKind,
        reference: &str,
        file_name: Option<&str>,
        mime_type: Option<&str>,
        size: Option<u64>,
    ) -> Result<Self, ValueError> {
        let r = reference.trim();
        if r.is_empty() || r.len() > 2_048 {
            return Err(ValueError::new(
                "media.reference",
                "must be 1–2048 characters",
            ));
        }
        if file_name.is_some_and(|n| n.chars().count() > 255) {
            return Err(ValueError::new(
                "media.file_name",
                "must be at most 255 characters",
            ));
        }
        if mime_type.is_some_and(|m| m.len() > 255 || !m.contains('/')) {
            return Err(ValueError::new(
                "media.mime_type",
                "must look like type/subtype",
            ));
        }
        Ok(Self {
            kind,
            reference: r.to_owned(),
            file_name: file_name.map(str::to_owned),
            mime_type: mime_type.map(str::to_owned),
            size,
        })
    }
}
