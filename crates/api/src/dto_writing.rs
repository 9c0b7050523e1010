//! Request and response bodies of the agents' writing tools: canned
//! responses, response templates and the knowledge base.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::dto::{MessageView, TicketView};

/// Tells "absent" (`None`) from "null" (`Some(None)`) in a PATCH body.
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

// ---------------------------------------------------------------------------
// Canned responses
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCannedBody {
    /// 1–100 characters, unique in the workspace (compared without case).
    pub name: String,
    /// A topic to group responses by, 1–64 characters.
    pub category: Option<String>,
    /// The text, with variables such as `{{customer_name}}` and blocks such as
    /// `{{#if priority == "urgent"}}…{{else}}…{{/if}}`.
    pub body: String,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateCannedBody {
    pub name: Option<String>,
    /// `null` removes the category.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable = true)]
    pub category: Option<Option<String>>,
    pub body: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CannedView {
    pub id: String,
    pub name: String,
    pub category: Option<String>,
    pub body: String,
    /// The variables the body uses.
    pub variables: Vec<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Send it back in `If-Match`.
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CannedPageView {
    pub items: Vec<CannedView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderBody {
    /// The ticket whose values fill the variables.
    pub ticket_id: String,
    /// Templates only: render this version instead of the current one.
    pub version: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RenderedView {
    /// The text as it would be sent.
    pub text: String,
    /// The version that was rendered.
    pub version: i64,
    pub variables: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    pub ticket_id: String,
    /// Templates only: send this version instead of the current one.
    pub version: Option<i64>,
}

/// `POST /v1/tickets/{id}/canned`: name the canned response by id or by name.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketCannedBody {
    pub canned_response_id: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateRefView {
    /// `canned_response` or `response_template`.
    pub kind: String,
    pub id: String,
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SentView {
    pub message: MessageView,
    pub ticket: TicketView,
    /// What the message was written from.
    pub template: TemplateRefView,
}

// ---------------------------------------------------------------------------
// Response templates
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SharingBody {
    /// `private` (one agent), `team` or `workspace`.
    pub scope: String,
    /// For `private`: the agent (default: the caller's agent).
    pub agent_id: Option<String>,
    /// For `team`: the team.
    pub team_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateTemplateBody {
    pub name: String,
    pub category: Option<String>,
    pub body: String,
    /// Default: private to the caller's agent (workspace-wide for tokens
    /// without an agent).
    pub sharing: Option<SharingBody>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct EditTemplateBody {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, nullable = true)]
    pub category: Option<Option<String>>,
    pub body: Option<String>,
    pub sharing: Option<SharingBody>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SharingView {
    pub scope: String,
    pub agent_id: Option<String>,
    pub team_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub category: Option<String>,
    pub body: String,
    pub sharing: SharingView,
    /// The agent who owns it (may edit it besides admins).
    pub owner_agent_id: Option<String>,
    pub variables: Vec<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// The current version (1 on creation, +1 on every edit); send it back in `If-Match`.
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplatePageView {
    pub items: Vec<TemplateView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateVersionView {
    pub template_id: String,
    pub version: i64,
    pub name: String,
    pub category: Option<String>,
    pub body: String,
    pub sharing: SharingView,
    /// Who saved this version.
    pub author: String,
    pub created_at: DateTime<Utc>,
    /// Messages sent from this version.
    pub uses: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateVersionsView {
    pub items: Vec<TemplateVersionView>,
}

// ---------------------------------------------------------------------------
// Knowledge base
// ---------------------------------------------------------------------------

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateArticleBody {
    /// 1–200 characters.
    pub title: String,
    /// Markdown, up to 100,000 characters.
    pub body: String,
    pub tags: Option<Vec<String>>,
    /// `draft` (default) or `published`.
    pub status: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateArticleBody {
    pub title: Option<String>,
    pub body: Option<String>,
    /// Replaces the tags.
    pub tags: Option<Vec<String>>,
    /// `draft` or `published`.
    pub status: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkedTicketView {
    pub ticket_id: String,
    pub subject: Option<String>,
    pub status: Option<String>,
    pub linked_by: String,
    pub linked_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleView {
    pub id: String,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    /// `draft` or `published`.
    pub status: String,
    /// Where an imported article came from.
    pub source: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    /// Every change is a new version; send it back in `If-Match`.
    pub version: i64,
    /// Tickets linked to this article (from the read model; may lag a write
    /// unless `consistent_with` is passed).
    pub linked_tickets: Vec<LinkedTicketView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleSummaryView {
    pub id: String,
    pub title: String,
    pub tags: Vec<String>,
    pub status: String,
    pub source: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticlePageView {
    pub items: Vec<ArticleSummaryView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleVersionView {
    pub article_id: String,
    pub version: i64,
    pub title: String,
    pub body: String,
    pub tags: Vec<String>,
    pub status: String,
    pub author: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleVersionsView {
    pub items: Vec<ArticleVersionView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchHitView {
    pub article_id: String,
    pub title: String,
    pub status: String,
    pub tags: Vec<String>,
    /// The best matching passage, matches in `**bold**`.
    pub snippet: String,
    /// Relevance; higher is better, comparable within one answer only.
    pub score: f64,
    pub updated_at: DateTime<Utc>,
    /// Suggestions only: the article is already linked to the ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linked: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchView {
    /// The words searched for.
    pub terms: Vec<String>,
    pub items: Vec<SearchHitView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkBody {
    pub article_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkedArticleView {
    pub article_id: String,
    pub title: String,
    pub status: String,
    pub linked_by: String,
    pub linked_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TicketLinksView {
    pub ticket_id: String,
    pub articles: Vec<LinkedArticleView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ArticleLinksView {
    pub article_id: String,
    pub tickets: Vec<LinkedTicketView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkView {
    pub ticket_id: String,
    pub article_id: String,
    /// False when the link already existed.
    pub created: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportFile {
    /// The file's path in the export (its identity across imports).
    pub path: String,
    /// The Markdown text.
    pub content: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportBody {
    pub files: Vec<ImportFile>,
    /// Status of new articles whose file names none: `published` (default) or `draft`.
    pub status: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportedFileView {
    pub path: String,
    /// `created`, `updated`, `unchanged` or `failed`.
    pub outcome: String,
    pub article_id: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ImportView {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub failed: usize,
    pub files: Vec<ImportedFileView>,
}
