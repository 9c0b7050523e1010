//! Request and response bodies. Requests are strict (unknown fields refused)
//! and carry raw values; `parse_*` turns them into domain values, collecting
//! every field problem for one 422 answer.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tgcrm_domain::ticket::{Author, Ticket};
use tgcrm_domain::values::{
    Attachment, AttachmentKind, Customer, CustomerName, Fields, Priority, Tag, TelegramUserId,
    TelegramUsername, ValueError,
};
use utoipa::ToSchema;

use crate::error::{ApiError, FieldError};

/// Collects field problems while parsing a request.
#[derive(Default)]
pub struct Problems(Vec<FieldError>);

impl Problems {
    pub fn take<T>(&mut self, r: Result<T, ValueError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e.into());
                None
            }
        }
    }

    /// `raw` as a UUID in its canonical text form, or a "must be a UUID" problem.
    pub fn uuid(&mut self, field: &str, raw: &str) -> Option<String> {
        match uuid::Uuid::parse_str(raw) {
            Ok(u) => Some(u.to_string()),
            Err(_) => {
                self.push(field, "must be a UUID");
                None
            }
        }
    }

    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// The customer's Telegram user id.
    pub telegram_user_id: i64,
    pub name: String,
    /// Telegram username, with or without `@`.
    pub username: Option<String>,
}

impl CustomerInput {
    pub fn parse(&self, p: &mut Problems) -> Option<Customer> {
        let id =
            p.take(TelegramUserId::parse(self.telegram_user_id).map_err(|e| prefix("customer", e)));
        let name = p.take(CustomerName::parse(&self.name).map_err(|e| prefix("customer", e)));
        let username = match &self.username {
            Some(u) => Some(p.take(TelegramUsername::parse(u).map_err(|e| prefix("customer", e)))?),
            None => None,
        };
        Some(Customer {
            telegram_user_id: id?,
            name: name?,
            username,
        })
    }
}

fn prefix(prefix: &str, e: ValueError) -> ValueError {
    ValueError::new(format!("{prefix}.{}", e.field), e.reason)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentInput {
    /// photo, document, voice, video, audio, sticker or other.
    pub kind: String,
    /// A Telegram `file_id` or an http(s) URL.
    pub reference: String,
    pub file_name: Option<String>,
    pub mime_type: Option<String>,
    pub size: Option<u64>,
}

pub fn parse_attachments(
    input: &[AttachmentInput],
    field: &str,
    p: &mut Problems,
) -> Vec<Attachment> {
    if input.len() > Attachment::MAX_PER_MESSAGE {
        p.push(
            field,
            format!(
                "at most {} attachments per message",
                Attachment::MAX_PER_MESSAGE
            ),
        );
        return vec![];
    }
    let mut out = Vec::new();
    for (i, a) in input.iter().enumerate() {
        let kind = match a.kind.as_str() {
            "photo" => AttachmentKind::Photo,
            "document" => AttachmentKind::Document,
            "voice" => AttachmentKind::Voice,
            "video" => AttachmentKind::Video,
            "audio" => AttachmentKind::Audio,
            "sticker" => AttachmentKind::Sticker,
            "other" => AttachmentKind::Other,
            other => {
                p.push(
                    &format!("{field}[{i}].kind"),
                    format!("unknown attachment kind '{other}'"),
                );
                continue;
            }
        };
        if let Some(att) = p.take(
            Attachment::parse(
                kind,
                &a.reference,
                a.file_name.as_deref(),
                a.mime_type.as_deref(),
                a.size,
            )
            .map_err(|e| {
                ValueError::new(
                    format!("{field}[{i}].{}", e.field.trim_start_matches("media.")),
                    e.reason,
                )
            }),
        ) {
            out.push(att);
        }
    }
    out
}

pub fn parse_tags(input: &[String], field: &str, p: &mut Problems) -> BTreeSet<Tag> {
    input
        .iter()
        .filter_map(|t| p.take(Tag::parse(t).map_err(|e| ValueError::new(field, e.reason))))
        .collect()
}

pub fn parse_priority(input: Option<&str>, p: &mut Problems) -> Option<Priority> {
    match input {
        None => Some(Priority::Normal),
        Some(s) => p.take(s.parse()),
    }
}

pub fn parse_fields(
    input: Option<&serde_json::Map<String, serde_json::Value>>,
    p: &mut Problems,
) -> Fields {
    match input {
        None => Fields::default(),
        Some(m) => p.take(Fields::parse(m)).unwrap_or_default(),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTicket {
    /// 1–200 characters.
    pub subject: String,
    /// The first message of the conversation, from the customer.
    pub body: String,
    pub customer: CustomerInput,
    /// low, normal (default), high or urgent.
    pub priority: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Custom fields: names of a-z, 0-9 and `_`; values are strings, numbers or booleans.
    #[schema(value_type = Option<Object>)]
    pub fields: Option<serde_json::Map<String, serde_json::Value>>,
    pub attachments: Option<Vec<AttachmentInput>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeSubmission {
    pub telegram_user_id: i64,
    pub name: String,
    pub username: Option<String>,
    /// What the customer wrote; its first line becomes the subject.
    pub text: String,
    pub media: Option<Vec<AttachmentInput>>,
    /// The intake form's answers, kept as custom fields.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub priority: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostMessage {
    pub text: String,
    /// public (default) or internal (a note only agents see).
    pub visibility: Option<String>,
    pub attachments: Option<Vec<AttachmentInput>>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeStatusBody {
    /// open, in_progress, waiting_on_customer, resolved or closed.
    pub status: String,
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePriorityBody {
    pub priority: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    pub agent_id: Option<String>,
    pub team_id: Option<String>,
    /// A transfer note for whoever takes the ticket.
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UnassignBody {
    pub note: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsBody {
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldsBody {
    #[serde(default)]
    #[schema(value_type = Object)]
    pub set: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    pub remove: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CustomerView {
    pub telegram_user_id: i64,
    pub name: String,
    pub username: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketView {
    pub id: String,
    pub workspace: String,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub channel: String,
    pub customer: CustomerView,
    pub assignee_agent_id: Option<String>,
    pub team_id: Option<String>,
    pub tags: Vec<String>,
    #[schema(value_type = Object)]
    pub fields: serde_json::Value,
    pub archived: bool,
    /// The closed ticket this one continues.
    pub follows_up: Option<String>,
    pub message_count: u64,
    pub opened_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The ticket's version (its last event's sequence); send it back in `If-Match`.
    pub version: i64,
    /// The SLA policy version applied and each target's due time and state.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla: Option<crate::dto_sla::TicketSlaView>,
}

impl TicketView {
    pub fn from_state(t: &Ticket, version: i64) -> Self {
        Self {
            id: t.id.map(|i| i.to_string()).unwrap_or_default(),
            workspace: t
                .workspace_id
                .as_ref()
                .map(|w| w.to_string())
                .unwrap_or_default(),
            subject: t
                .subject
                .as_ref()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            status: t.status.as_str().to_owned(),
            priority: t.priority.as_str().to_owned(),
            channel: t.channel.map(|c| c.as_str().to_owned()).unwrap_or_default(),
            customer: CustomerView {
                telegram_user_id: t
                    .customer
                    .as_ref()
                    .map(|c| c.telegram_user_id.get())
                    .unwrap_or_default(),
                name: t
                    .customer
                    .as_ref()
                    .map(|c| c.name.as_str().to_owned())
                    .unwrap_or_default(),
                username: t
                    .customer
                    .as_ref()
                    .and_then(|c| c.username.as_ref().map(|u| u.as_str().to_owned())),
            },
            assignee_agent_id: t.assignee.map(|a| a.to_string()),
            team_id: t.team.map(|a| a.to_string()),
            tags: t.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            fields: serde_json::to_value(&t.fields).unwrap_or(serde_json::Value::Null),
            archived: t.archived,
            follows_up: t.follows_up.map(|f| f.to_string()),
            message_count: t.message_count,
            opened_at: t.opened_at,
            updated_at: t.updated_at,
            resolved_at: t.resolved_at,
            closed_at: t.closed_at,
            version,
            sla: crate::dto_sla::TicketSlaView::of(t),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketSummaryView {
    pub id: String,
    pub subject: String,
    pub status: String,
    pub priority: String,
    pub channel: String,
    pub customer: CustomerView,
    pub assignee_agent_id: Option<String>,
    pub team_id: Option<String>,
    pub tags: Vec<String>,
    pub archived: bool,
    pub message_count: i64,
    pub first_response_at: Option<DateTime<Utc>>,
    pub last_message_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

impl From<tgcrm_projections::ticket_list::TicketSummary> for TicketSummaryView {
    fn from(t: tgcrm_projections::ticket_list::TicketSummary) -> Self {
        Self {
            id: t.ticket_id,
            subject: t.subject,
            status: t.status,
            priority: t.priority,
            channel: t.channel,
            customer: CustomerView {
                telegram_user_id: t.customer_telegram_id,
                name: t.customer_name,
                username: t.customer_username,
            },
            assignee_agent_id: t.assignee_agent_id,
            team_id: t.team_id,
            tags: serde_json::from_value(t.tags).unwrap_or_default(),
            archived: t.archived,
            message_count: t.message_count,
            first_response_at: t.first_response_at,
            last_message_at: t.last_message_at,
            resolved_at: t.resolved_at,
            created_at: t.created_at,
            updated_at: t.updated_at,
            version: t.version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketPageView {
    pub items: Vec<TicketSummaryView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuthorView {
    /// customer, agent, staff or system.
    pub kind: String,
    /// The agent id, the token id (staff) or the system's name.
    pub id: Option<String>,
}

impl From<&Author> for AuthorView {
    fn from(a: &Author) -> Self {
        let (kind, id) = match a {
            Author::Customer => ("customer", None),
            Author::Agent { agent_id } => ("agent", Some(agent_id.to_string())),
            Author::Staff { token_id } => ("staff", Some(token_id.clone())),
            Author::System { name } => ("system", Some(name.clone())),
        };
        Self {
            kind: kind.to_owned(),
            id,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageView {
    pub id: String,
    pub ticket_id: String,
    pub author: AuthorView,
    /// public or internal.
    pub visibility: String,
    pub text: String,
    #[schema(value_type = Vec<Object>)]
    pub attachments: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub edited_at: Option<DateTime<Utc>>,
}

impl From<tgcrm_projections::conversation::MessageRow> for MessageView {
    fn from(m: tgcrm_projections::conversation::MessageRow) -> Self {
        Self {
            id: m.message_id,
            ticket_id: m.ticket_id,
            author: AuthorView {
                kind: m.author_kind,
                id: m.author_id,
            },
            visibility: m.visibility,
            text: m.text,
            attachments: m.attachments,
            created_at: m.created_at,
            edited_at: m.edited_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessagePageView {
    pub items: Vec<MessageView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PostedMessageView {
    pub message: MessageView,
    pub ticket: TicketView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventView {
    /// Opaque position token; pass as `after` to continue the feed.
    pub position: String,
    pub event_id: String,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub event_type: String,
    pub event_version: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub metadata: EventMetadataView,
    pub occurred_at: DateTime<Utc>,
    pub recorded_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventMetadataView {
    pub actor: String,
    pub source: String,
    pub correlation_id: Option<String>,
    pub causation_id: Option<String>,
    pub request_id: Option<String>,
}

impl From<tgcrm_store::StoredEvent> for EventView {
    fn from(e: tgcrm_store::StoredEvent) -> Self {
        Self {
            position: e.position.token(),
            event_id: e.event_id,
            aggregate_type: e.aggregate_type,
            aggregate_id: e.aggregate_id,
            sequence: e.sequence,
            event_type: e.event_type,
            event_version: e.event_version,
            payload: e.payload,
            metadata: EventMetadataView {
                actor: e.actor,
                source: e.source,
                correlation_id: e.correlation_id,
                causation_id: e.causation_id,
                request_id: e.request_id,
            },
            occurred_at: e.occurred_at,
            recorded_at: e.recorded_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPageView {
    pub items: Vec<EventView>,
    /// Pass as `after` (global feed) or `cursor` (ticket stream) to continue.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub workspace: String,
    pub role: String,
    pub token_id: String,
    pub agent_id: Option<String>,
}
