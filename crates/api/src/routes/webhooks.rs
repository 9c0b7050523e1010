//! Webhooks (admin only): endpoints CRUD, secret rotation, the delivery log,
//! dead letters, redelivery and replay. Every write only appends an event to
//! the endpoint's stream; the webhook router and worker do the rest.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tgcrm_domain::values::ValueError;
use tgcrm_projections::cursor::{decode_i64, decode_time_id, encode_i64, encode_time_id};
use tgcrm_store::commands::{CommandContext, CommandError};
use tgcrm_store::load::load;
use tgcrm_store::tokens::Role;
use tgcrm_webhooks::app::{self, AppError, NewEndpoint};
use tgcrm_webhooks::endpoint::{
    Description, EndpointId, EventTypes, ReplayFrom, UpdateEndpoint, WebhookEndpoint, WebhookError,
    WebhookUrl,
};
use tgcrm_webhooks::queries::{self, DeliveryFilter};
use tgcrm_webhooks::{WebhookConfig, router};
use utoipa::IntoParams;

use super::{etag, if_match, page_limit, position_token, wait_consistent, with_position};
use crate::auth::Auth;
use crate::dto::Problems;
use crate::dto_webhooks::{
    CreateWebhook, CreatedWebhook, DeliveryPageView, DeliveryView, RedeliveryAccepted,
    ReplayAccepted, ReplayWebhook, RotateWebhookSecret, UpdateWebhook, WebhookPageView,
    WebhookView,
};
use crate::error::{ApiError, FieldError, Problem, Result};
use crate::state::AppState;

const ADMIN: &[Role] = &[Role::Admin];
const MAX_GRACE_SECONDS: i64 = 7 * 86_400;

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        match e {
            WebhookError::NotFound => Self::NotFound("webhook not found".into()),
            WebhookError::NothingToChange(_) => Self::Validation(vec![FieldError {
                field: String::new(),
                message: e.to_string(),
            }]),
        }
    }
}

fn app_error(e: AppError) -> ApiError {
    match e {
        AppError::Command(CommandError::NotFound) => ApiError::NotFound("webhook not found".into()),
        AppError::Command(c) => c.into(),
        AppError::Target(t) => ApiError::field("url", t.to_string()),
    }
}

fn config(state: &AppState) -> &WebhookConfig {
    &state.config.webhooks
}

fn endpoint_id(raw: &str) -> Result<EndpointId> {
    raw.parse()
        .map_err(|_| ApiError::NotFound("webhook not found".into()))
}

fn context(auth: &Auth, expected_version: Option<i64>) -> CommandContext {
    CommandContext {
        workspace_id: auth.workspace.clone(),
        metadata: auth.metadata(),
        expected_version,
    }
}

fn event_types(raw: &[String], field: &str, p: &mut Problems) -> Option<EventTypes> {
    match EventTypes::parse(raw) {
        Ok(t) => Some(t),
        Err(errs) => {
            for e in errs {
                let name = e.field.replacen("event_types", field, 1);
                p.push(&name, e.reason);
            }
            None
        }
    }
}

/// The endpoint as this workspace sees it (404 for others' and deleted ones).
async fn visible(state: &AppState, auth: &Auth, id: &EndpointId) -> Result<(WebhookEndpoint, i64)> {
    let loaded = load::<WebhookEndpoint>(state.store.db(), &id.to_string()).await?;
    if !loaded.state.exists() || loaded.state.workspace_id.as_ref() != Some(&auth.workspace) {
        return Err(ApiError::NotFound("webhook not found".into()));
    }
    Ok((loaded.state, loaded.version))
}

async fn view(state: &AppState, s: &WebhookEndpoint, version: i64) -> Result<WebhookView> {
    let id = s.id.map(|i| i.to_string()).unwrap_or_default();
    let health = queries::health(state.store.db(), &id).await?;
    Ok(WebhookView::from_state(s, version, &health))
}

/// Subscribe an endpoint. The answer carries its signing secret, shown this once.
#[utoipa::path(post, path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses((status = 201, body = CreatedWebhook, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem, description = "invalid fields, or a target the SSRF guard refuses")),
    security(("bearer" = [])))]
pub async fn create_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    body: web::Json<CreateWebhook>,
) -> Result<HttpResponse> {
    auth.require(ADMIN)?;
    let mut p = Problems::default();
    let url = p.take(WebhookUrl::parse(&body.url));
    let types = event_types(&body.event_types, "event_types", &mut p);
    let description = body
        .description
        .as_deref()
        .and_then(|d| p.take(Description::parse(d)));
    p.finish()?;
    let (Some(url), Some(event_types)) = (url, types) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let (outcome, secret) = app::create(
        &state.store,
        state.clock.as_ref(),
        &context(&auth, None),
        NewEndpoint {
            url,
            event_types,
            description,
            active: body.active.unwrap_or(true),
        },
        config(&state).allow_private,
    )
    .await
    .map_err(app_error)?;
    let webhook = view(&state, &outcome.state, outcome.version).await?;
    let mut res = HttpResponse::build(StatusCode::CREATED);
    res.insert_header(etag(outcome.version));
    with_position(&mut res, outcome.position);
    if let Ok(v) =
        actix_web::http::header::HeaderValue::from_str(&format!("/v1/webhooks/{}", webhook.id))
    {
        res.insert_header((actix_web::http::header::LOCATION, v));
    }
    Ok(res.json(CreatedWebhook {
        webhook,
        secret: secret.expose().to_owned(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListWebhooksQuery {
    /// 1–100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Wait until the list includes the write that returned this X-Event-Position.
    pub consistent_with: Option<String>,
}

/// The workspace's webhook endpoints, oldest first.
#[utoipa::path(get, path = "/v1/webhooks", tag = "webhooks", params(ListWebhooksQuery),
    responses((status = 200, body = WebhookPageView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_webhooks(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<ListWebhooksQuery>,
) -> Result<HttpResponse> {
    auth.require(ADMIN)?;
    let limit = page_limit(q.limit)?;
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(decode_time_id(c).map_err(|e| ApiError::field("cursor", e.to_string()))?),
    };
    wait_consistent(&state, &[router::NAME], q.consistent_with.as_deref()).await?;
    let mut rows =
        queries::list_endpoints(state.store.db(), auth.workspace.as_str(), after, limit + 1)
            .await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        rows.last()
            .map(|r| encode_time_id(r.created_at, &r.endpoint_id))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(WebhookPageView {
        items: rows.into_iter().map(Into::into).collect(),
        next_cursor: next,
    }))
}

/// One webhook endpoint, read from its own event stream.
#[utoipa::path(get, path = "/v1/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 200, body = WebhookView, headers(("ETag" = String))), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(ADMIN)?;
    let id = endpoint_id(&path)?;
    let (s, version) = visible(&state, &auth, &id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(version))
        .json(view(&state, &s, version).await?))
}

/// Change an endpoint's URL, event types, description or active flag.
#[utoipa::path(patch, path = "/v1/webhooks/{id}", tag = "webhooks", request_body = UpdateWebhook,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = WebhookView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<UpdateWebhook>,
) -> Result<HttpResponse> {
    auth.require(ADMIN)?;
    let id = endpoint_id(&path)?;
    let expected = if_match(&req)?;
    let mut p = Problems::default();
    let url = body
        .url
        .as_deref()
        .and_then(|u| p.take(WebhookUrl::parse(u)));
    let types = body
        .event_types
        .as_deref()
        .and_then(|t| event_types(t, "event_types", &mut p));
    let description = match &body.description {
        None => None,
        Some(None) => Some(None),
        Some(Some(d)) => p.take(Description::parse(d)).map(Some),
    };
    p.finish()?;
    visible(&state, &auth, &id).await?;
    let outcome = app::update(
        &state.store,
        state.clock.as_ref(),
        &context(&auth, expected),
        &id,
        UpdateEndpoint {
            url,
            event_types: types,
            description,
            active: body.active,
        },
        config(&state).allow_private,
    )
    .await
    .map_err(app_error)?;
    let mut res = HttpResponse::Ok();
    res.insert_header(etag(outcome.version));
    with_position(&mut res, outcome.position);
    Ok(res.json(view(&state, &outcome.state, outcome.version).await?))
}

/// Delete an endpoint: its pending deliveries are cancelled, its secrets erased.
#[utoipa::path(delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(ADMIN)?;
    let id = endpoint_id(&path)?;
    let expected = if_match(&req)?;
    visible(&state, &auth, &id).await?;
    let outcome = app::delete(
        &state.store,
        state.clock.as_ref(),
        &context(&auth, expected),
        &id,
    )
    .await
    .map_err(app_error)?;
    let mut res = HttpResponse::NoContent();
    with_position(&mut res, outcome.position);
    Ok(res.finish())
}

/// A new signing secret (shown this once). The previous one keeps signing for
/// the grace period, so deliveries meanwhile carry both signatures.
#[utoipa::path(post, path = "/v1/webhooks/{id}/rotate-secret", tag = "webhooks",
    request_body(content = Option<RotateWebhookSecret>), params(("id" = String, Path)),
    responses((status = 200, body = CreatedWebhook), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn rotate_webhook_secret(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: Option<web::Json<RotateWebhookSecret>>,
) -> Result<HttpResponse> {
    auth.require(ADMIN)?;
    let id = endpoint_id(&path)?;
    let body = body.map(|b| b.into_inner()).unwrap_or_default();
    let grace = match body.grace_seconds {
        None => chrono::Duration::from_std(config(&state).rotation_grace)
            .unwrap_or(chrono::Duration::hours(24)),
        Some(s) if (0..=MAX_GRACE_SECONDS).contains(&s) => chrono::Duration::seconds(s),
        Some(_) => {
            return Err(ApiError::field(
                "grace_seconds",
                format!("must be between 0 and {MAX_GRACE_SECONDS}"),
            ));
        }
    };
    visible(&state, &auth, &id).await?;
    let (outcome, secret) = app::rotate_secret(
        &state.store,
        state.clock.as_ref(),
        &context(&auth, None),
        &id,
        grace,
    )
    .await
    .map_err(app_error)?;
    let webhook = view(&state, &outcome.state, outcome.version).await?;
    let mut res = HttpResponse::Ok();
    res.insert_header(etag(outcome.version));
    with_position(&mut res, outcome.position);
    Ok(res.json(CreatedWebhook {
        webhook,
        secret: secret.expose().to_owned(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// `pending`, `succeeded`, `dead` or `cancelled`.
    pub status: Option<String>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Wait until deliveries of the events up to this X-Event-Position are enqueued.
    pub consistent_with: Option<String>,
}

const STATUSES: &[&str] = &["pending", "succeeded", "dead", "cancelled"];

async fn delivery_page(
    state: &AppState,
    mut filter: DeliveryFilter,
    cursor: Option<&str>,
) -> Result<DeliveryPageView> {
    filter.before_seq = match cursor {
        None => None,
        Some(c) => Some(decode_i64(c).map_err(|e| ApiError::field("cursor", e.to_string()))?),
    };
    let limit = filter.limit;
    filter.limit = limit + 1;
    let mut rows = queries::list_deliveries(state.store.db(), &filter).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(usize::try_from(limit).unwrap_or(0));
        rows.last().map(|r| encode_i64(r.seq))
    } else {
        None
    };
    let ids: Vec<String> = rows.iter().map(|r| r.delivery_id.clone()).collect();
    let mut attempts = queries::attempts(state.store.db(), &ids).await?;
    Ok(DeliveryPageView {
        items: rows
            .into_iter()
            .map(|r| {
                let a = attempts.remove(&r.delivery_id).unwrap_or_default();
                DeliveryView::new(r, a)
            })
            .collect(),
        next_cursor: next,
    })
}

fn status_filter(raw: Option<&str>) -> Result<Option<String>> {
    match raw {
        None => Ok(None),
        Some(s) if STATUSES.contains(&s) => Ok(Some(s.to_owned())),
        Some(_) => Err(ApiError::field(
            "status",
            "must be pending, succeeded, dead or cancelled",
        )),
    }
}

/// The endpoint's delivery log, newest first, each delivery with every attempt.
#[utoipa::path(get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), DeliveriesQuery),
    responses((status = 200, body = DeliveryPageView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_webhook_deliveries(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    q: web::Query<DeliveriesQuery>,
) -> Result<HttpResponse> {
    auth.require(ADMIN)?;
    let id = endpoint_id(&path)?;
    let limit = page_limit(q.limit)?;
    let status = status_filter(q.status.as_deref())?;
    visible(&state, &auth, &id).await?;
    wait_consistent(&state, &[router::NAME], q.consistent_with.as_deref()).await?;
    let page = delivery_page(
        &state,
        DeliveryFilter {
            workspace_id: auth.workspace.to_string(),
            endpoint_id: Some(id.to_string()),
            status,
            before_seq: None,
            limit,
        },
        q.cursor.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DeadLettersQuery {
    /// Only this endpoint's.
    pub webhook_id: Option<String>,
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// Deliveries that failed every attempt (or met a 410), newest first.
#[utoipa::path(get, path = "/v1/webhooks/dead-letters", tag = "webhooks", params(DeadLettersQuery),
    responses((status = 200, body = DeliveryPageView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_dead_letters(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<DeadLettersQuery>,
) -> Result<HttpResponse> {
    auth.require(ADMIN)?;
    let limit = page_limit(q.limit)?;
    let endpoint = match q.webhook_id.as_deref() {
        None => None,
        Some(w) => Some(
            w.parse::<EndpointId>()
                .map_err(|_| ApiError::field("webhook_id", "must be a webhook id"))?
                .to_string(),
        ),
    };
    let page = delivery_page(
        &state,
        DeliveryFilter {
            workspace_id: auth.workspace.to_string(),
            endpoint_id: endpoint,
            status: Some("dead".into()),
            before_seq: None,
            limit,
        },
        q.cursor.as_deref(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Send a delivery again from its first attempt (same `webhook-id` and body).
#[utoipa::path(post, path = "/v1/webhooks/deliveries/{id}/redeliver", tag = "webhooks",
    params(("id" = String, Path, description = "delivery id")),
    responses((status = 202, body = RedeliveryAccepted, headers(("X-Event-Position" = String))),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn redeliver(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(ADMIN)?;
    let not_found = || ApiError::NotFound("delivery not found".into());
    let raw = path.into_inner();
    if uuid::Uuid::parse_str(&raw).is_err() {
        return Err(not_found());
    }
    let d = queries::get_delivery(state.store.db(), &raw)
        .await?
        .filter(|d| d.workspace_id == auth.workspace.as_str())
        .ok_or_else(not_found)?;
    let endpoint = endpoint_id(&d.endpoint_id)?;
    let outcome = app::redeliver(
        &state.store,
        state.clock.as_ref(),
        &context(&auth, None),
        &endpoint,
        &d.delivery_id,
    )
    .await
    .map_err(|e| match e {
        AppError::Command(CommandError::NotFound) => not_found(),
        other => app_error(other),
    })?;
    let mut res = HttpResponse::Accepted();
    with_position(&mut res, outcome.position);
    Ok(res.json(RedeliveryAccepted {
        delivery_id: d.delivery_id,
        webhook_id: d.endpoint_id,
        status: "queued".into(),
    }))
}

/// Deliver again every matching event after a log position, or since a time.
#[utoipa::path(post, path = "/v1/webhooks/{id}/replay", tag = "webhooks", request_body = ReplayWebhook,
    params(("id" = String, Path)),
    responses((status = 202, body = ReplayAccepted, headers(("X-Event-Position" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn replay_webhook(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: web::Json<ReplayWebhook>,
) -> Result<HttpResponse> {
    auth.require(ADMIN)?;
    let id = endpoint_id(&path)?;
    let from = match (&body.from_position, body.from_time) {
        (Some(p), None) => {
            let pos = position_token(p, "from_position")?;
            ReplayFrom::Position {
                transaction_id: pos.transaction_id,
                position: pos.position,
            }
        }
        (None, Some(t)) => ReplayFrom::Time { at: t },
        _ => {
            return Err(ApiError::Validation(vec![FieldError::from(
                ValueError::new(
                    "from_position",
                    "give exactly one of from_position and from_time",
                ),
            )]));
        }
    };
    let mut p = Problems::default();
    let types = body
        .event_types
        .as_deref()
        .and_then(|t| event_types(t, "event_types", &mut p));
    p.finish()?;
    visible(&state, &auth, &id).await?;
    let (outcome, replay_id) = app::replay(
        &state.store,
        state.clock.as_ref(),
        &context(&auth, None),
        &id,
        from,
        types,
    )
    .await
    .map_err(app_error)?;
    let mut res = HttpResponse::Accepted();
    with_position(&mut res, outcome.position);
    Ok(res.json(ReplayAccepted {
        replay_id,
        webhook_id: id.to_string(),
        from_position: body.from_position.clone(),
        from_time: body.from_time,
        status: "queued".into(),
    }))
}

/// Register the routes (static paths before `{id}`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/webhooks/dead-letters").get(list_dead_letters))
        .service(web::resource("/v1/webhooks/deliveries/{id}/redeliver").post(redeliver))
        .service(
            web::resource("/v1/webhooks")
                .post(create_webhook)
                .get(list_webhooks),
        )
        .service(
            web::resource("/v1/webhooks/{id}")
                .get(get_webhook)
                .patch(update_webhook)
                .delete(delete_webhook),
        )
        .service(web::resource("/v1/webhooks/{id}/rotate-secret").post(rotate_webhook_secret))
        .service(web::resource("/v1/webhooks/{id}/deliveries").get(list_webhook_deliveries))
        .service(web::resource("/v1/webhooks/{id}/replay").post(replay_webhook));
}
