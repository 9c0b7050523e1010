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
        ticket_events, global_feed, stream, submit_intake, digest, erase,
        crate::routes::agents::register, crate::routes::agents::list, crate::routes::agents::get,
        crate::routes::agents::update, crate::routes::agents::availability, crate::routes::agents::deactivate,
        crate::routes::agents::reactivate, access_log, export, issue, list, rotate, revoke,
        create_webhook, list_webhooks, get_webhook, update_webhook, delete_webhook, rotate_webhook_secret,
        list_webhook_deliveries, list_dead_letters, redeliver, replay_webhook,
        create_canned, list_canned, get_canned, update_canned, delete_canned, render_canned, send_canned, ticket_canned,
        create_template, list_templates, get_template, edit_template, delete_template, list_template_versions,
        get_template_version, render_template, send_template,
        create_article, list_articles, get_article, update_article, delete_article, list_article_versions,
        get_article_version, article_links, search, ticket_suggestions, link_article, unlink_article, ticket_links, import,
        crate::routes::sla::create_sla_policy, crate::routes::sla::list_sla_policies, crate::routes::sla::get_sla_policy,
        crate::routes::sla::update_sla_policy, crate::routes::sla::delete_sla_policy, crate::routes::sla::list_breaches,
        crate::routes::escalation::create_escalation_policy, crate::routes::escalation::list_escalation_policies,
        crate::routes::escalation::get_escalation_policy, crate::routes::escalation::update_escalation_policy,
        crate::routes::escalation::delete_escalation_policy,
        crate::routes::service_metrics::first_response, crate::routes::service_metrics::resolution,
        crate::routes::service_metrics::sla,
        crate::routes::teams::create_team, crate::routes::teams::list_teams, crate::routes::teams::get_team,
        crate::routes::teams::update_team,
        crate::routes::queues::get_queue, crate::routes::queues::queue_stats, crate::routes::queues::pause_queue,
        crate::routes::queues::resume_queue, crate::routes::queues::set_capacity, crate::routes::queues::set_strategy,
        crate::routes::queues::reorder_queue,
    ),
    modifiers(&BearerAuth),
    tags((name = "tickets"), (name = "messages"), (name = "events"), (name = "auth"), (name = "health"), (name = "audit"), (name = "agents"), (name = "customers"), (name = "webhooks"), (name = "canned responses"), (name = "templates"), (name = "knowledge base"), (name = "sla"), (name = "metrics"), (name = "teams"), (name = "queues"))
)]
pub struct ApiDoc;

/// `GET /openapi.json`.
pub async fn serve() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
