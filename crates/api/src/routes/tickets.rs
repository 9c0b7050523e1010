//! Opening, listing and reading tickets.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tgcrm_domain::MessageId;
use tgcrm_domain::TicketId;
use tgcrm_domain::ticket::{AddMessage, Channel, MessageVisibility, OpenTicket, TicketCommand};
use tgcrm_domain::values::{MessageText, Status, Subject};
use tgcrm_projections::cursor::decode_time_id;
use tgcrm_projections::ticket_list::{self, TicketFilter};
use tgcrm_store::load::{load_ticket, load_ticket_as_of};
use tgcrm_store::tokens::Role;
use utoipa::IntoParams;

use super::{
    etag, idempotency_key, page_limit, run_command, ticket_answer, ticket_id, wait_consistent,
};
use crate::auth::Auth;
use crate::dto::{
    CreateTicket, Problems, TicketPageView, TicketView, parse_attachments, parse_fields,
    parse_priority, parse_tags,
};
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

pub const READERS: &[Role] = &[
    Role::Admin,
    Role::Agent,
    Role::Bot,
    Role::Analyst,
    Role::Auditor,
];

/// Open a ticket. With `Idempotency-Key`, a repeat of the request returns the
/// same ticket (200) instead of opening another.
#[utoipa::path(post, path = "/v1/tickets", tag = "tickets", request_body = CreateTicket,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses(
        (status = 201, body = TicketView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 200, body = TicketView, description = "repeat of an earlier request with the same Idempotency-Key"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_ticket(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: web::Json<CreateTicket>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin, Role::Agent, Role::Bot])?;
    let key = idempotency_key(&req)?;
    let mut p = Problems::default();
    let subject = p.take(Subject::parse(&body.subject));
    let customer = body.customer.parse(&mut p);
    let priority = parse_priority(body.priority.as_deref(), &mut p);
    let tags = parse_tags(body.tags.as_deref().unwrap_or(&[]), "tags", &mut p);
    let fields = parse_fields(body.fields.as_ref(), &mut p);
    let attachments = parse_attachments(
        body.attachments.as_deref().unwrap_or(&[]),
        "attachments",
        &mut p,
    );
    let text = p.take(
        MessageText::parse_with_attachments(&body.body, !attachments.is_empty())
            .map_err(|e| tgcrm_domain::values::ValueError::new("body", e.reason)),
    );
    if tags.len() > tgcrm_domain::ticket::Ticket::MAX_TAGS {
        p.push(
            "tags",
            format!("at most {} tags", tgcrm_domain::ticket::Ticket::MAX_TAGS),
        );
    }
    p.finish()?;
    let (Some(subject), Some(customer), Some(priority), Some(text)) =
        (subject, customer, priority, text)
    else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let (ticket_id, message_id) = match &key {
        Some(k) => (
            TicketId::from_idempotency_key(&auth.workspace, k),
            MessageId::from_idempotency_key(&auth.workspace, &format!("ticket-body/{k}")),
        ),
        None => {
            // A new id: nothing to load before opening it.
            let id = TicketId::new();
            state
                .store
                .aggregates()
                .put_new::<tgcrm_domain::ticket::Ticket>(&id.to_string());
            (id, MessageId::new())
        }
    };
    // The first message of a ticket is the customer's, whoever files it.
    let author = tgcrm_domain::ticket::Author::Customer;
    let command = TicketCommand::Open(OpenTicket {
        ticket_id,
        workspace_id: auth.workspace.clone(),
        subject,
        customer,
        priority,
        channel: Channel::Api,
        tags,
        fields,
        first_message: AddMessage {
            message_id,
            author,
            visibility: MessageVisibility::Public,
            text,
            attachments,
        },
        follows_up: None,
    });
    let outcome = run_command(&state, &auth, &ticket_id, None, command).await?;
    let status = if outcome.events.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut res = ticket_answer(status, &outcome);
    if let Ok(v) =
        actix_web::http::header::HeaderValue::from_str(&format!("/v1/tickets/{ticket_id}"))
    {
        res.headers_mut()
            .insert(actix_web::http::header::LOCATION, v);
    }
    Ok(res)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListTicketsQuery {
    /// open, in_progress, waiting_on_customer, resolved or closed.
    pub status: Option<String>,
    /// low, normal, high or urgent.
    pub priority: Option<String>,
    /// An agent id, or `none` for unassigned tickets.
    pub assignee: Option<String>,
    /// A team id.
    pub team: Option<String>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    pub tag: Option<String>,
    /// Include archived tickets (default false).
    pub archived: Option<bool>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Wait until the list includes the write that returned this X-Event-Position.
    pub consistent_with: Option<String>,
}

/// List tickets, newest first, with filters.
#[utoipa::path(get, path = "/v1/tickets", tag = "tickets", params(ListTicketsQuery),
    responses((status = 200, body = TicketPageView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_tickets(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<ListTicketsQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let mut p = Problems::default();
    let status = q
        .status
        .as_deref()
        .and_then(|s| p.take(s.parse::<Status>()))
        .map(|s| s.as_str().to_owned());
    let priority = q
        .priority
        .as_deref()
        .and_then(|s| p.take(s.parse::<tgcrm_domain::values::Priority>()))
        .map(|s| s.as_str().to_owned());
    let assignee = match q.assignee.as_deref() {
        None => None,
        Some("none") => Some(None),
        Some(a) => p.uuid("assignee", a).map(Some),
    };
    let team = q.team.as_deref().and_then(|t| p.uuid("team", t));
    let tag = q
        .tag
        .as_deref()
        .and_then(|t| {
            p.take(
                tgcrm_domain::values::Tag::parse(t)
                    .map_err(|e| tgcrm_domain::values::ValueError::new("tag", e.reason)),
            )
        })
        .map(|t| t.as_str().to_owned());
    let limit = match page_limit(q.limit) {
        Ok(l) => l,
        Err(_) => {
            p.push("limit", "must be between 1 and 100");
            50
        }
    };
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => match decode_time_id(c) {
            Ok(v) => Some(v),
            Err(e) => {
                p.push("cursor", e.to_string());
                None
            }
        },
    };
    p.finish()?;
    wait_consistent(&state, &[ticket_list::NAME], q.consistent_with.as_deref()).await?;
    let page = ticket_list::list(
        state.store.db(),
        &TicketFilter {
            workspace_id: auth.workspace.to_string(),
            status,
            priority,
            assignee,
            team,
            created_after: q.created_after,
            created_before: q.created_before,
            tag,
            include_archived: q.archived.unwrap_or(false),
            limit,
            after,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(TicketPageView {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct GetTicketQuery {
    /// The ticket as it stood at this instant (RFC 3339), replayed from its events.
    pub as_of: Option<DateTime<Utc>>,
    /// Accepted for symmetry; the current state is always read from the log itself.
    pub consistent_with: Option<String>,
}

/// A ticket's current state (from its event stream), or its state at `as_of`.
#[utoipa::path(get, path = "/v1/tickets/{id}", tag = "tickets",
    params(("id" = String, Path, description = "ticket id"), GetTicketQuery),
    responses((status = 200, body = TicketView, headers(("ETag" = String))), (status = 401, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_ticket(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    q: web::Query<GetTicketQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let id = ticket_id(&path)?;
    if let Some(c) = q.consistent_with.as_deref() {
        super::position_token(c, "consistent_with")?;
    }
    let loaded = match q.as_of {
        Some(at) => load_ticket_as_of(state.store.db(), &id, at).await?,
        None => load_ticket(state.store.db(), &id).await?,
    };
    let visible =
        loaded.state.exists() && loaded.state.workspace_id.as_ref() == Some(&auth.workspace);
    if !visible {
        return Err(ApiError::NotFound(if q.as_of.is_some() {
            "ticket not found (or not yet opened at as_of)".into()
        } else {
            "ticket not found".into()
        }));
    }
    Ok(HttpResponse::Ok()
        .insert_header(etag(loaded.version))
        .json(TicketView::from_state(&loaded.state, loaded.version)))
}
