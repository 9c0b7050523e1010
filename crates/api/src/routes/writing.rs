//! What the writing tools' routes share: roles, refusals as problems, who the
//! caller is in the agents directory, the render context of a ticket, and
//! sending a rendered text as a reply.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use tgcrm_domain::canned::CannedError;
use tgcrm_domain::kb::{ArticleError, LinkError};
use tgcrm_domain::response_template::TemplateRefused;
use tgcrm_domain::templating::{AgentInfo, RenderContext, TemplateError, TemplateRef};
use tgcrm_domain::ticket::{AddMessage, MessageVisibility, SendTemplate, Ticket, TicketCommand};
use tgcrm_domain::values::MessageText;
use tgcrm_domain::{MessageId, TicketId};
pub(crate) use tgcrm_projections::directory::{agent_name, agent_teams};
use tgcrm_store::named::NamedError;
use tgcrm_store::tokens::Role;

use super::{etag, idempotency_key, run_command, with_position};
use crate::auth::Auth;
use crate::dto::{AuthorView, MessageView, TicketView};
use crate::dto_writing::{SentView, TemplateRefView};
use crate::error::{ApiError, FieldError};
use crate::state::AppState;

/// Who may create, change and send: admins and agents.
pub(crate) const WRITERS: &[Role] = &[Role::Admin, Role::Agent];
/// Who may read (and render): admins, agents and analysts.
pub(crate) const READERS: &[Role] = &[Role::Admin, Role::Agent, Role::Analyst];

impl From<CannedError> for ApiError {
    fn from(e: CannedError) -> Self {
        let detail = e.to_string();
        match e {
            CannedError::NotFound => Self::NotFound("canned response not found".into()),
            CannedError::Deleted => Self::Conflict {
                slug: "deleted",
                detail,
            },
            CannedError::NothingToChange => Self::field("", detail),
        }
    }
}

impl From<TemplateRefused> for ApiError {
    fn from(e: TemplateRefused) -> Self {
        let detail = e.to_string();
        match e {
            TemplateRefused::NotFound => Self::NotFound("template not found".into()),
            TemplateRefused::Deleted => Self::Conflict {
                slug: "deleted",
                detail,
            },
            TemplateRefused::NothingToChange => Self::field("", detail),
        }
    }
}

impl From<ArticleError> for ApiError {
    fn from(e: ArticleError) -> Self {
        let detail = e.to_string();
        match e {
            ArticleError::NotFound => Self::NotFound("article not found".into()),
            ArticleError::Deleted => Self::Conflict {
                slug: "deleted",
                detail,
            },
            ArticleError::NothingToChange => Self::field("", detail),
            ArticleError::TooManyTags { .. } => Self::field("tags", detail),
        }
    }
}

impl From<LinkError> for ApiError {
    fn from(e: LinkError) -> Self {
        Self::NotFound(e.to_string())
    }
}

/// A command on a named aggregate: a taken name is a 409 naming the holder.
pub(crate) fn named_error<E>(e: NamedError<E>, not_found: &str) -> ApiError
where
    E: tgcrm_domain::Refusal + Into<ApiError>,
{
    match e {
        NamedError::NameTaken { name, owner } => ApiError::Conflict {
            slug: "name-taken",
            detail: format!("the name '{name}' is already used by {owner} in this workspace"),
        },
        NamedError::Command(tgcrm_store::commands::CommandError::NotFound) => {
            ApiError::NotFound(not_found.to_owned())
        }
        NamedError::Command(c) => c.into(),
    }
}

/// A text that cannot be saved (`field` names where it came from) or
/// rendered: a 422 that names each unknown or valueless variable.
pub(crate) fn template_error(e: TemplateError, field: &str) -> ApiError {
    match &e {
        TemplateError::UnknownVariables { names } => ApiError::Validation(
            names
                .iter()
                .map(|n| FieldError {
                    field: field.to_owned(),
                    message: format!(
                        "unknown variable {n}; known variables are {} and fields.<key>",
                        tgcrm_domain::templating::VARIABLES.join(", ")
                    ),
                })
                .collect(),
        ),
        TemplateError::MissingValues { names } => ApiError::Validation(
            names
                .iter()
                .map(|n| FieldError {
                    field: n.clone(),
                    message: format!(
                        "the text uses {n}, which has no value on this ticket (guard it with {{{{#if {n}}}}}…{{{{/if}}}})"
                    ),
                })
                .collect(),
        ),
        _ => ApiError::field(field, e.to_string()),
    }
}

/// The caller as the agent who writes: its id and name, when bound to one.
pub(crate) async fn caller_agent(state: &AppState, auth: &Auth) -> Result<AgentInfo, ApiError> {
    let Some(agent) = auth.agent else {
        return Ok(AgentInfo::default());
    };
    let name = agent_name(
        state.store.db(),
        auth.workspace.as_str(),
        &agent.to_string(),
    )
    .await?;
    Ok(AgentInfo {
        id: Some(agent.to_string()),
        name,
    })
}

/// A ticket id from a request body: anything that is not one is a 422.
pub(crate) fn body_ticket_id(raw: &str) -> Result<TicketId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::field("ticket_id", "must be a ticket id (a UUID)"))
}

/// The ticket, if it exists in the caller's workspace.
pub(crate) async fn ticket_in_workspace(
    state: &AppState,
    auth: &Auth,
    id: &TicketId,
) -> Result<Ticket, ApiError> {
    let loaded = tgcrm_store::load::load_ticket(state.store.db(), id).await?;
    if loaded.state.exists() && loaded.state.workspace_id.as_ref() == Some(&auth.workspace) {
        Ok(loaded.state)
    } else {
        Err(ApiError::NotFound("ticket not found".into()))
    }
}

/// What a text may refer to on this ticket, written by this caller.
pub(crate) async fn render_context(
    state: &AppState,
    auth: &Auth,
    id: &TicketId,
) -> Result<RenderContext, ApiError> {
    let ticket = ticket_in_workspace(state, auth, id).await?;
    let agent = caller_agent(state, auth).await?;
    RenderContext::from_ticket(&ticket, agent)
        .ok_or_else(|| ApiError::NotFound("ticket not found".into()))
}

/// Post `text` to the ticket as the caller's public reply, recording `template`.
pub(crate) async fn send_rendered(
    state: &AppState,
    auth: &Auth,
    req: &HttpRequest,
    ticket: TicketId,
    text: &str,
    template: TemplateRef,
) -> Result<HttpResponse, ApiError> {
    let author = auth.message_author();
    if author.is_customer() {
        return Err(ApiError::Forbidden(
            "replies from canned responses and templates need an agent or admin token".into(),
        ));
    }
    let text = MessageText::parse(text).map_err(|e| {
        ApiError::field(
            "body",
            format!("the rendered text cannot be sent: {}", e.reason),
        )
    })?;
    let key = idempotency_key(req)?;
    let message_id = match &key {
        Some(k) => MessageId::from_idempotency_key(&auth.workspace, &format!("{ticket}/{k}")),
        None => MessageId::new(),
    };
    let outcome = run_command(
        state,
        auth,
        &ticket,
        None,
        TicketCommand::SendTemplate(SendTemplate {
            message: AddMessage {
                message_id,
                author: author.clone(),
                visibility: MessageVisibility::Public,
                text: text.clone(),
                attachments: vec![],
            },
            template: template.clone(),
        }),
    )
    .await?;
    let created_at = outcome
        .events
        .iter()
        .find_map(|e| match e {
            tgcrm_domain::ticket::TicketEvent::MessageAdded { at, .. } => Some(*at),
            _ => None,
        })
        .or(outcome.state.updated_at)
        .unwrap_or_else(|| state.clock.now());
    let status = if outcome.events.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut res = HttpResponse::build(status);
    res.insert_header(etag(outcome.version));
    with_position(&mut res, outcome.position);
    Ok(res.json(SentView {
        message: MessageView {
            id: message_id.to_string(),
            ticket_id: ticket.to_string(),
            author: AuthorView::from(&author),
            visibility: MessageVisibility::Public.as_str().to_owned(),
            text: text.as_str().to_owned(),
            attachments: serde_json::Value::Array(vec![]),
            created_at,
            edited_at: None,
        },
        ticket: TicketView::from_state(&outcome.state, outcome.version),
        template: TemplateRefView {
            kind: template.kind.as_str().to_owned(),
            id: template.id,
            version: template.version,
        },
    }))
}

/// An id from the path: anything that is not one is simply not found.
pub(crate) fn path_id<T: std::str::FromStr>(raw: &str, what: &str) -> Result<T, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(format!("{what} not found")))
}

/// A resource's `version` as ETag and `X-Event-Position` of the write.
pub(crate) fn answer<T: serde::Serialize>(
    status: StatusCode,
    version: i64,
    position: Option<tgcrm_store::Position>,
    body: &T,
) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header(etag(version));
    with_position(&mut res, position);
    res.json(body)
}

/// Register the writing tools' routes.
pub(crate) fn configure(cfg: &mut actix_web::web::ServiceConfig) {
    use actix_web::web;

    use super::{canned, kb, templates};

    cfg.service(
        web::resource("/v1/canned-responses")
            .post(canned::create_canned)
            .get(canned::list_canned),
    )
    .service(
        web::resource("/v1/canned-responses/{id}")
            .get(canned::get_canned)
            .patch(canned::update_canned)
            .delete(canned::delete_canned),
    )
    .service(web::resource("/v1/canned-responses/{id}/render").post(canned::render_canned))
    .service(web::resource("/v1/canned-responses/{id}/send").post(canned::send_canned))
    .service(web::resource("/v1/tickets/{id}/canned").post(canned::ticket_canned))
    .service(
        web::resource("/v1/templates")
            .post(templates::create_template)
            .get(templates::list_templates),
    )
    .service(
        web::resource("/v1/templates/{id}")
            .get(templates::get_template)
            .patch(templates::edit_template)
            .delete(templates::delete_template),
    )
    .service(web::resource("/v1/templates/{id}/versions").get(templates::list_template_versions))
    .service(
        web::resource("/v1/templates/{id}/versions/{version}").get(templates::get_template_version),
    )
    .service(web::resource("/v1/templates/{id}/render").post(templates::render_template))
    .service(web::resource("/v1/templates/{id}/send").post(templates::send_template))
    .service(
        web::resource("/v1/kb/articles")
            .post(kb::create_article)
            .get(kb::list_articles),
    )
    .service(
        web::resource("/v1/kb/articles/{id}")
            .get(kb::get_article)
            .patch(kb::update_article)
            .delete(kb::delete_article),
    )
    .service(web::resource("/v1/kb/articles/{id}/versions").get(kb::list_article_versions))
    .service(web::resource("/v1/kb/articles/{id}/versions/{version}").get(kb::get_article_version))
    .service(web::resource("/v1/kb/articles/{id}/links").get(kb::article_links))
    .service(web::resource("/v1/kb/search").get(kb::search))
    .service(web::resource("/v1/kb/import").post(kb::import))
    .service(web::resource("/v1/tickets/{id}/suggestions").get(kb::ticket_suggestions))
    .service(
        web::resource("/v1/tickets/{id}/links")
            .post(kb::link_article)
            .get(kb::ticket_links),
    )
    .service(web::resource("/v1/tickets/{id}/links/{article_id}").delete(kb::unlink_article));
}
