//! Route modules by resource, and the small helpers they share.

pub mod agents;
mod audit;
mod canned;
mod customers;
pub mod escalation;
mod event_stream;
mod events;
mod export;
mod health;
mod intake;
mod kb;
mod me;
mod messages;
pub mod queues;
pub mod service_metrics;
pub mod sla;
pub mod teams;
mod templates;
mod ticket_commands;
mod tickets;
mod tokens;
mod webhooks;
mod writing;

pub use audit::{__path_access_log, __path_digest};
pub use canned::{
    __path_create_canned, __path_delete_canned, __path_get_canned, __path_list_canned,
    __path_render_canned, __path_send_canned, __path_ticket_canned, __path_update_canned,
};
pub use customers::__path_erase;
pub use event_stream::__path_stream;
pub use events::{__path_global_feed, __path_ticket_events};
pub use export::__path_export;
pub use health::{__path_healthz, __path_readyz};
pub use intake::__path_submit_intake;
pub use kb::{
    __path_article_links, __path_create_article, __path_delete_article, __path_get_article,
    __path_get_article_version, __path_import, __path_link_article, __path_list_article_versions,
    __path_list_articles, __path_search, __path_ticket_links, __path_ticket_suggestions,
    __path_unlink_article, __path_update_article,
};
pub use me::__path_me;
pub use messages::{__path_list_messages, __path_post_message};
pub use templates::{
    __path_create_template, __path_delete_template, __path_edit_template, __path_get_template,
    __path_get_template_version, __path_list_template_versions, __path_list_templates,
    __path_render_template, __path_send_template,
};
pub use ticket_commands::{
    __path_archive, __path_assign, __path_change_fields, __path_change_priority,
    __path_change_status, __path_change_tags, __path_unassign,
};
pub use tickets::{__path_create_ticket, __path_get_ticket, __path_list_tickets};
pub use tokens::{__path_issue, __path_list, __path_revoke, __path_rotate};
pub use webhooks::{
    __path_create_webhook, __path_delete_webhook, __path_get_webhook, __path_list_dead_letters,
    __path_list_webhook_deliveries, __path_list_webhooks, __path_redeliver, __path_replay_webhook,
    __path_rotate_webhook_secret, __path_update_webhook,
};

use actix_web::http::StatusCode;
use actix_web::http::header::{ETAG, HeaderName, HeaderValue, IF_MATCH};
use actix_web::{HttpRequest, HttpResponse, web};
use tgcrm_domain::TicketId;
use tgcrm_domain::ticket::TicketCommand;
use tgcrm_store::Position;
use tgcrm_store::tickets::{CommandContext, CommandOutcome, execute};

use crate::auth::Auth;
use crate::dto::TicketView;
use crate::error::ApiError;
use crate::state::AppState;

pub const EVENT_POSITION: &str = "x-event-position";

pub fn configure(cfg: &mut web::ServiceConfig) {
    // Actix tries resources in the order they are registered, and a pattern
    // with a `{segment}` is a regular expression run over the whole path:
    // the tickets' routes come first, so a command is routed after at most
    // ten of them rather than the fifty of the other modules (a twentieth
    // of the server's CPU at peak load went to routing). No two patterns
    // here match the same path, so the order changes nothing else.
    cfg.service(web::resource("/healthz").get(health::healthz))
        .service(web::resource("/readyz").get(health::readyz))
        .service(web::resource("/openapi.json").get(crate::openapi::serve))
        .service(web::resource("/metrics").get(crate::metrics::serve))
        .service(web::resource("/v1/me").get(me::me))
        .service(
            web::resource("/v1/tickets")
                .post(tickets::create_ticket)
                .get(tickets::list_tickets),
        )
        .service(web::resource("/v1/tickets/{id}").get(tickets::get_ticket))
        .service(
            web::resource("/v1/tickets/{id}/messages")
                .post(messages::post_message)
                .get(messages::list_messages),
        )
        .service(web::resource("/v1/tickets/{id}/status").post(ticket_commands::change_status))
        .service(
            web::resource("/v1/tickets/{id}/assignment")
                .post(ticket_commands::assign)
                .delete(ticket_commands::unassign),
        )
        .service(web::resource("/v1/tickets/{id}/priority").post(ticket_commands::change_priority))
        .service(web::resource("/v1/tickets/{id}/tags").post(ticket_commands::change_tags))
        .service(web::resource("/v1/tickets/{id}/fields").post(ticket_commands::change_fields))
        .service(web::resource("/v1/tickets/{id}/archive").post(ticket_commands::archive))
        .service(web::resource("/v1/tickets/{id}/events").get(events::ticket_events))
        .service(web::resource("/v1/events").get(events::global_feed))
        .service(web::resource("/v1/events/stream").get(event_stream::stream))
        .service(web::resource("/v1/intake").post(intake::submit_intake))
        .service(web::resource("/v1/audit/digest").get(audit::digest))
        .service(web::resource("/v1/customers/{telegram_user_id}/erase").post(customers::erase))
        .service(
            web::resource("/v1/tokens")
                .post(tokens::issue)
                .get(tokens::list),
        )
        .service(web::resource("/v1/tokens/{id}").delete(tokens::revoke))
        .service(web::resource("/v1/tokens/{id}/rotate").post(tokens::rotate))
        .service(web::resource("/v1/audit/access-log").get(audit::access_log))
        .service(web::resource("/v1/events/export").get(export::export));
    agents::configure(cfg);
    teams::configure(cfg);
    queues::configure(cfg);
    webhooks::configure(cfg);
    writing::configure(cfg);
    sla::configure(cfg);
}

/// A ticket id from the path; anything that is not one is simply not found.
pub(crate) fn ticket_id(raw: &str) -> Result<TicketId, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::NotFound("ticket not found".into()))
}

/// The version named by `If-Match` (`"3"`, `W/"3"` or `3`), if any.
pub(crate) fn if_match(req: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let Some(v) = req.headers().get(IF_MATCH) else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| ApiError::BadRequest("If-Match is not valid text".into()))?
        .trim();
    if s == "*" {
        return Ok(None);
    }
    let s = s.trim_start_matches("W/").trim_matches('"');
    s.parse::<i64>()
        .ok()
        .filter(|v| *v >= 0)
        .map(Some)
        .ok_or_else(|| {
            ApiError::BadRequest("If-Match must be an ETag this API returned, like \"3\"".into())
        })
}

/// `Idempotency-Key`, if sent: 1–255 visible ASCII characters.
pub(crate) fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    let s = v
        .to_str()
        .map_err(|_| ApiError::BadRequest("Idempotency-Key must be visible ASCII".into()))?;
    if s.is_empty() || s.len() > 255 || !s.chars().all(|c| c.is_ascii_graphic()) {
        return Err(ApiError::BadRequest(
            "Idempotency-Key must be 1–255 visible ASCII characters".into(),
        ));
    }
    Ok(Some(s.to_owned()))
}

/// A page size: 1–100, default 50.
pub(crate) fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    match limit {
        None => Ok(50),
        Some(n) if (1..=100).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field("limit", "must be between 1 and 100")),
    }
}

pub(crate) fn position_token(raw: &str, field: &str) -> Result<Position, ApiError> {
    raw.parse()
        .map_err(|e: tgcrm_store::position::BadPositionToken| ApiError::field(field, e.to_string()))
}

/// Wait until the named projectors have passed `consistent_with`, if given.
pub(crate) async fn wait_consistent(
    state: &AppState,
    projectors: &[&'static str],
    consistent_with: Option<&str>,
) -> Result<(), ApiError> {
    let Some(token) = consistent_with else {
        return Ok(());
    };
    let target = position_token(token, "consistent_with")?;
    if target > tgcrm_store::reader::newest(state.store.db()).await?
        || target.position > tgcrm_store::reader::max_position(state.store.db()).await?
    {
        return Err(ApiError::field(
            "consistent_with",
            "no write has reached this position yet; pass the X-Event-Position a write returned",
        ));
    }
    state
        .consistency
        .wait_for(
            state.store.db(),
            projectors,
            target,
            state.config.consistency_timeout,
        )
        .await
        .map_err(|e| match e {
            tgcrm_projections::consistency::WaitError::TimedOut => ApiError::Unavailable(
                "the read model has not caught up with consistent_with yet; retry shortly".into(),
            ),
            tgcrm_projections::consistency::WaitError::Database(d) => d.into(),
        })
}

/// Decide and store a ticket command for this caller.
pub(crate) async fn run_command(
    state: &AppState,
    auth: &Auth,
    id: &TicketId,
    expected_version: Option<i64>,
    command: TicketCommand,
) -> Result<CommandOutcome, ApiError> {
    let ctx = CommandContext {
        workspace_id: auth.workspace.clone(),
        metadata: auth.metadata(),
        expected_version,
    };
    let kind = command_kind(&command);
    let result = execute(&state.store, state.clock.as_ref(), id, &ctx, command).await;
    let outcome = match &result {
        Ok(o) if o.events.is_empty() => "unchanged",
        Ok(_) => "accepted",
        Err(tgcrm_store::tickets::CommandError::Refused(_)) => "refused",
        Err(tgcrm_store::tickets::CommandError::NotFound) => "not_found",
        Err(tgcrm_store::tickets::CommandError::VersionMismatch { .. }) => "stale",
        Err(tgcrm_store::tickets::CommandError::Contended) => "contended",
        Err(_) => "failed",
    };
    metrics::counter!("commands_total", "type" => kind, "outcome" => outcome).increment(1);
    match result {
        Ok(outcome) => Ok(outcome),
        Err(tgcrm_store::tickets::CommandError::NotFound) => {
            Err(ApiError::NotFound("ticket not found".into()))
        }
        Err(e) => Err(e.into()),
    }
}

fn command_kind(c: &TicketCommand) -> &'static str {
    match c {
        TicketCommand::Open(_) => "open_ticket",
        TicketCommand::AddMessage(_) => "add_message",
        TicketCommand::SendTemplate(_) => "send_template",
        TicketCommand::EditMessage(_) => "edit_message",
        TicketCommand::ChangeStatus(_) => "change_status",
        TicketCommand::ChangePriority(_) => "change_priority",
        TicketCommand::Assign(_) => "assign",
        TicketCommand::Unassign { .. } => "unassign",
        TicketCommand::ChangeTags(_) => "change_tags",
        TicketCommand::SetFields(_) => "set_fields",
        TicketCommand::Archive => "archive",
        TicketCommand::ApplySla(_) => "apply_sla",
        TicketCommand::RecordSla(_) => "record_sla",
        TicketCommand::Escalate(_) => "escalate",
        TicketCommand::AutoAssign(_) => "auto_assign",
    }
}

pub(crate) fn etag(version: i64) -> (HeaderName, HeaderValue) {
    (
        ETAG,
        HeaderValue::from_str(&format!("\"{version}\""))
            .unwrap_or(HeaderValue::from_static("\"0\"")),
    )
}

pub(crate) fn with_position(res: &mut actix_web::HttpResponseBuilder, position: Option<Position>) {
    if let Some(p) = position
        && let Ok(v) = HeaderValue::from_str(&p.token())
    {
        res.insert_header((HeaderName::from_static(EVENT_POSITION), v));
    }
}

/// The answer to a ticket command: the ticket, its ETag and the event position.
pub(crate) fn ticket_answer(status: StatusCode, outcome: &CommandOutcome) -> HttpResponse {
    let mut res = HttpResponse::build(status);
    res.insert_header(etag(outcome.version));
    with_position(&mut res, outcome.position);
    res.json(TicketView::from_state(&outcome.state, outcome.version))
}

/// A comma-separated `type` filter: at most 50 event types of at most 100 characters.
pub(crate) fn event_types(raw: Option<&str>) -> Result<Vec<String>, ApiError> {
    let types: Vec<String> = raw
        .map(|t| {
            t.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    if types.len() > 50 || types.iter().any(|t| t.len() > 100) {
        return Err(ApiError::field(
            "type",
            "at most 50 event types of at most 100 characters",
        ));
    }
    Ok(types)
}
