//! `POST /v1/intake`: a bot's intake form submission becomes a ticket.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tgcrm_domain::ticket::{
    AddMessage, Author, Channel, MessageVisibility, OpenTicket, TicketCommand,
};
use tgcrm_domain::values::{
    Customer, CustomerName, MessageText, Subject, TelegramUserId, TelegramUsername, ValueError,
};
use tgcrm_domain::{MessageId, TicketId};
use tgcrm_store::tokens::Role;

use super::{idempotency_key, run_command, ticket_answer};
use crate::auth::Auth;
use crate::dto::{
    IntakeSubmission, Problems, TicketView, parse_attachments, parse_fields, parse_priority,
};
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

/// Open a ticket from an intake form: the text's first line is the subject,
/// the form's answers (`metadata`) become custom fields, the channel is Telegram.
#[utoipa::path(post, path = "/v1/intake", tag = "tickets", request_body = IntakeSubmission,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = TicketView), (status = 200, body = TicketView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn submit_intake(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: web::Json<IntakeSubmission>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin, Role::Bot])?;
    let key = idempotency_key(&req)?;
    let mut p = Problems::default();
    let user = p.take(TelegramUserId::parse(body.telegram_user_id));
    let name = p.take(CustomerName::parse(&body.name));
    let username = body
        .username
        .as_deref()
        .and_then(|u| p.take(TelegramUsername::parse(u)));
    let media = parse_attachments(body.media.as_deref().unwrap_or(&[]), "media", &mut p);
    let text = p.take(MessageText::parse_with_attachments(
        &body.text,
        !media.is_empty(),
    ));
    let subject = if body.text.trim().is_empty() && !media.is_empty() {
        p.take(Subject::parse("(attachment)"))
    } else {
        p.take(Subject::from_first_line(&body.text).map_err(|e| ValueError::new("text", e.reason)))
    };
    let fields = parse_fields(body.metadata.as_ref(), &mut p);
    let priority = parse_priority(body.priority.as_deref(), &mut p);
    p.finish()?;
    let (Some(user), Some(name), Some(text), Some(subject), Some(priority)) =
        (user, name, text, subject, priority)
    else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let (ticket_id, message_id) = match &key {
        Some(k) => (
            TicketId::from_idempotency_key(&auth.workspace, &format!("intake/{k}")),
            MessageId::from_idempotency_key(&auth.workspace, &format!("intake/{k}")),
        ),
        None => (TicketId::new(), MessageId::new()),
    };
    let command = TicketCommand::Open(OpenTicket {
        ticket_id,
        workspace_id: auth.workspace.clone(),
        subject,
        customer: Customer {
            telegram_user_id: user,
            name,
            username,
        },
        priority,
        channel: Channel::Telegram,
        tags: Default::default(),
        fields,
        first_message: AddMessage {
            message_id,
            author: Author::Customer,
            visibility: MessageVisibility::Public,
            text,
            attachments: media,
        },
        follows_up: None,
    });
    let outcome = run_command(&state, &auth, &ticket_id, None, command).await?;
    let status = if outcome.events.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok(ticket_answer(status, &outcome))
}
