//! The OpenAPI 3.1 document, generated from the handlers' annotations.

use actix_web::HttpResponse;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::*;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(title = "tgcrm", description = "Event-sourced support desk for Telegram"),
    paths(
        healthz, readyz, me,
        create_ticket, list_tickets, get_ticket,
        post_message, list_messages,
        change_status, change_priority, assign, unassign, change_tags, change_fields, archive,
        ticket_events, global_feed, stream, submit_intake, digest, erase, access_log, export, issue, list, rotate, revoke,
    ),
    modifiers(&BearerAuth),
    tags((name = "tickets"), (name = "messages"), (name = "events"), (name = "auth"), (name = "health"), (name = "audit"), (name = "customers"))
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
