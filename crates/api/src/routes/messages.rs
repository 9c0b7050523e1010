//! A ticket's conversation: posting replies and notes, reading messages.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tgcrm_domain::MessageId;
use tgcrm_domain::ticket::{AddMessage, MessageVisibility, TicketCommand, TicketEvent};
use tgcrm_domain::values::MessageText;
use tgcrm_projections::conversation;
use tgcrm_projections::cursor::decode_i64;
use tgcrm_store::tokens::Role;
use utoipa::IntoParams;

use super::{
    etag, idempotency_key, if_match, page_limit, run_command, ticket_id, wait_consistent,
    with_position,
};
use crate::auth::Auth;
use crate::dto::{
    AuthorView, MessagePageView, MessageView, PostMessage, PostedMessageView, Problems, TicketView,
    parse_attachments,
};
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

/// Post a message. The author comes from the token: an agent token writes as
/// its agent, a bot token relays the customer. `internal` notes are never
/// shown to the customer.
#[utoipa::path(post, path = "/v1/tickets/{id}/messages", tag = "messages", request_body = PostMessage,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header), ("If-Match" = Option<String>, Header)),
    responses((status = 201, body = PostedMessageView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 200, body = PostedMessageView, description = "repeat of an earlier request with the same Idempotency-Key"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn post_message(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<PostMessage>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin, Role::Agent, Role::Bot])?;
    let id = ticket_id(&path)?;
    let expected = if_match(&req)?;
    let key = idempotency_key(&req)?;
    let mut p = Problems::default();
    let visibility = match body.visibility.as_deref() {
        None | Some("public") => Some(MessageVisibility::Public),
        Some("internal") => Some(MessageVisibility::Internal),
        Some(other) => {
            p.push(
                "visibility",
                format!("unknown visibility '{other}'; expected public or internal"),
            );
            None
        }
    };
    let attachments = parse_attachments(
        body.attachments.as_deref().unwrap_or(&[]),
        "attachments",
        &mut p,
    );
    let text = p.take(MessageText::parse_with_attachments(
        &body.text,
        !attachments.is_empty(),
    ));
    p.finish()?;
    let (Some(visibility), Some(text)) = (visibility, text) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let author = auth.message_author();
    if author.is_customer() && visibility == MessageVisibility::Internal {
        return Err(ApiError::Forbidden(
            "a bot token relays customer messages; internal notes need an agent or admin token"
                .into(),
        ));
    }
    let message_id = match &key {
        Some(k) => MessageId::from_idempotency_key(&auth.workspace, &format!("{id}/{k}")),
        None => MessageId::new(),
    };
    let outcome = run_command(
        &state,
        &auth,
        &id,
        expected,
        TicketCommand::AddMessage(AddMessage {
            message_id,
            author: author.clone(),
            visibility,
            text: text.clone(),
            attachments: attachments.clone(),
        }),
    )
    .await?;
    let created_at = outcome
        .events
        .iter()
        .find_map(|e| match e {
            TicketEvent::MessageAdded { at, .. } => Some(*at),
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
    Ok(res.json(PostedMessageView {
        message: MessageView {
            id: message_id.to_string(),
            ticket_id: id.to_string(),
            author: AuthorView::from(&author),
            visibility: visibility.as_str().to_owned(),
            text: text.as_str().to_owned(),
            attachments: serde_json::to_value(&attachments).unwrap_or_default(),
            created_at,
            edited_at: None,
        },
        ticket: TicketView::from_state(&outcome.state, outcome.version),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListMessagesQuery {
    /// 1–100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Wait until the conversation includes the write that returned this X-Event-Position.
    pub consistent_with: Option<String>,
}

/// The conversation, oldest first. Internal notes only for admin and agent tokens.
#[utoipa::path(get, path = "/v1/tickets/{id}/messages", tag = "messages",
    params(("id" = String, Path), ListMessagesQuery),
    responses((status = 200, body = MessagePageView), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_messages(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    q: web::Query<ListMessagesQuery>,
) -> Result<HttpResponse> {
    auth.require(super::tickets::READERS)?;
    let id = ticket_id(&path)?;
    let limit = page_limit(q.limit)?;
    let after = match q.cursor.as_deref() {
        None => 0,
        Some(c) => decode_i64(c).map_err(|e| ApiError::field("cursor", e.to_string()))?,
    };
    wait_consistent(&state, &[conversation::NAME], q.consistent_with.as_deref()).await?;
    // The ticket must exist in this workspace, even when it has no messages yet.
    let loaded = tgcrm_store::load::load_ticket(state.store.db(), &id).await?;
    if loaded.state.workspace_id.as_ref() != Some(&auth.workspace) {
        return Err(ApiError::NotFound("ticket not found".into()));
    }
    let (rows, next) = conversation::list(
        state.store.db(),
        auth.workspace.as_str(),
        &id.to_string(),
        auth.is_agent_role(),
        after,
        limit,
    )
    .await?;
    Ok(HttpResponse::Ok().json(MessagePageView {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor: next,
    }))
}
