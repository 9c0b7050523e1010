//! What a Telegram message carries: its text or caption and its attachments,
//! as references (`file_id`s), never bytes.

use teloxide::types::Message;
use tgcrm_domain::values::{Attachment, AttachmentKind};

pub fn text_of(m: &Message) -> String {
    m.text().or_else(|| m.caption()).unwrap_or("").to_owned()
}

pub fn attachments_of(m: &Message) -> Vec<Attachment> {
    let mut out = Vec::new();
    let mut push =
        |kind, file_id: &str, name: Option<&str>, mime: Option<String>, size: Option<u64>| {
            if let Ok(a) = Attachment::parse(kind, file_id, name, mime.as_deref(), size) {
                out.push(a);
            }
        };
    if let Some(sizes) = m.photo()
        && let Some(largest) = sizes.iter().max_by_key(|p| p.width * p.height)
    {
        push(
            AttachmentKind::Photo,
            &largest.file.id.0,
            None,
            None,
            Some(u64::from(largest.file.size)),
        );
    }
    if let Some(d) = m.document() {
        push(
            AttachmentKind::Document,
            &d.file.id.0,
            d.file_name.as_deref(),
            d.mime_type.as_ref().map(ToString::to_string),
            Some(u64::from(d.file.size)),
        );
    }
    if let Some(v) = m.voice() {
        push(
            AttachmentKind::Voice,
            &v.file.id.0,
            None,
            v.mime_type.as_ref().map(ToString::to_string),
            Some(u64::from(v.file.size)),
        );
    }
    if let Some(v) = m.video() {
        push(
            AttachmentKind::Video,
            &v.file.id.0,
            v.file_name.as_deref(),
            v.mime_type.as_ref().map(ToString::to_string),
            Some(u64::from(v.file.size)),
        );
    }
    if let Some(a) = m.audio() {
        push(
            AttachmentKind::Audio,
            &a.file.id.0,
            a.file_name.as_deref(),
            a.mime_type.as_ref().map(ToString::to_string),
            Some(u64::from(a.file.size)),
        );
    }
    if let Some(s) = m.sticker() {
        push(
            AttachmentKind::Sticker,
            &s.file.id.0,
            None,
            None,
            Some(u64::from(s.file.size)),
        );
    }
    out
}
