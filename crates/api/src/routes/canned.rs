//! Canned responses: CRUD, rendering for a ticket, and sending as a reply.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tgcrm_domain::canned::{CannedCommand, CannedResponse, CreateCanned, UpdateCanned};
use tgcrm_domain::templating::{TemplateBody, TemplateKind, TemplateRef, render};
use tgcrm_domain::values::{Category, ResourceName};
use tgcrm_domain::{CannedResponseId, TicketId};
use tgcrm_projections::canned::{self as rm, CannedFilter};
use tgcrm_projections::writing_cursor::decode_key_id;
use tgcrm_store::commands::CommandContext;
use tgcrm_store::load::load;
use tgcrm_store::named::{execute_named, owner_of};
use utoipa::IntoParams;

use super::writing::{
    READERS, WRITERS, answer, body_ticket_id, named_error, path_id, render_context, send_rendered,
    template_error,
};
use super::{idempotency_key, if_match, page_limit, ticket_id, wait_consistent, with_position};
use crate::auth::Auth;
use crate::dto::Problems;
use crate::dto_writing::{
    CannedPageView, CannedView, CreateCannedBody, RenderBody, RenderedView, SendBody, SentView,
    TicketCannedBody, UpdateCannedBody,
};
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

const NOT_FOUND: &str = "canned response not found";

fn variables(body: &str) -> Vec<String> {
    TemplateBody::parse(body)
        .map(|b| b.variables().into_iter().collect())
        .unwrap_or_default()
}

fn view(c: &CannedResponse, version: i64) -> CannedView {
    CannedView {
        id: c.id.map(|i| i.to_string()).unwrap_or_default(),
        name: c
            .name
            .as_ref()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        category: c.category.as_ref().map(|c| c.as_str().to_owned()),
        body: c.body.clone(),
        variables: variables(&c.body),
        created_at: c.created_at,
        updated_at: c.updated_at,
        version,
    }
}

fn context(auth: &Auth, expected_version: Option<i64>) -> CommandContext {
    CommandContext {
        workspace_id: auth.workspace.clone(),
        metadata: auth.metadata(),
        expected_version,
    }
}

/// The live canned response `id` of the caller's workspace, and its version.
async fn load_live(
    state: &AppState,
    auth: &Auth,
    id: &CannedResponseId,
) -> Result<(CannedResponse, i64)> {
    let loaded = load::<CannedResponse>(state.store.db(), &id.to_string()).await?;
    if loaded.state.is_live() && loaded.state.workspace_id.as_ref() == Some(&auth.workspace) {
        Ok((loaded.state, loaded.version))
    } else {
        Err(ApiError::NotFound(NOT_FOUND.into()))
    }
}

fn parse_category(raw: Option<&str>, p: &mut Problems) -> Option<Category> {
    raw.and_then(|c| p.take(Category::parse(c)))
}

fn parse_body(raw: &str, p: &mut Problems) -> Option<TemplateBody> {
    match TemplateBody::parse(raw) {
        Ok(b) => Some(b),
        Err(e) => {
            if let ApiError::Validation(errors) = template_error(e, "body") {
                for fe in errors {
                    p.push(&fe.field, fe.message);
                }
            }
            None
        }
    }
}

/// Create a canned response. Its name must be unique in the workspace
/// (ignoring case and extra spaces): a second one with the same name is a 409.
/// Unknown variables in the body are a 422 naming them.
#[utoipa::path(post, path = "/v1/canned-responses", tag = "canned responses", request_body = CreateCannedBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 201, body = CannedView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 200, body = CannedView, description = "repeat of an earlier request with the same Idempotency-Key"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_canned(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: web::Json<CreateCannedBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let key = idempotency_key(&req)?;
    let mut p = Problems::default();
    let name = p.take(ResourceName::parse(&body.name));
    let category = parse_category(body.category.as_deref(), &mut p);
    let text = parse_body(&body.body, &mut p);
    p.finish()?;
    let (Some(name), Some(text)) = (name, text) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let id = match &key {
        Some(k) => CannedResponseId::from_idempotency_key(&auth.workspace, k),
        None => CannedResponseId::new(),
    };
    let outcome = execute_named::<CannedResponse>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, None),
        CannedCommand::Create(CreateCanned {
            id,
            workspace_id: auth.workspace.clone(),
            name,
            category,
            body: text,
        }),
    )
    .await
    .map_err(|e| named_error(e, NOT_FOUND))?;
    let status = if outcome.events.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut res = answer(
        status,
        outcome.version,
        outcome.position,
        &view(&outcome.state, outcome.version),
    );
    if let Ok(v) =
        actix_web::http::header::HeaderValue::from_str(&format!("/v1/canned-responses/{id}"))
    {
        res.headers_mut()
            .insert(actix_web::http::header::LOCATION, v);
    }
    Ok(res)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListCannedQuery {
    pub category: Option<String>,
    /// Part of the name, any case.
    pub q: Option<String>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Wait until the list includes the write that returned this X-Event-Position.
    pub consistent_with: Option<String>,
}

/// Canned responses, by name.
#[utoipa::path(get, path = "/v1/canned-responses", tag = "canned responses", params(ListCannedQuery),
    responses((status = 200, body = CannedPageView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_canned(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<ListCannedQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let limit = page_limit(q.limit)?;
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(decode_key_id(c).map_err(|e| ApiError::field("cursor", e.to_string()))?),
    };
    wait_consistent(&state, &[rm::NAME], q.consistent_with.as_deref()).await?;
    let page = rm::list(
        state.store.db(),
        &CannedFilter {
            workspace_id: auth.workspace.to_string(),
            category: q.category.clone(),
            name_contains: q.q.clone().filter(|s| !s.trim().is_empty()),
            limit,
            after,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(CannedPageView {
        items: page
            .items
            .into_iter()
            .map(|r| CannedView {
                variables: variables(&r.body),
                id: r.canned_response_id,
                name: r.name,
                category: r.category,
                body: r.body,
                created_at: Some(r.created_at),
                updated_at: Some(r.updated_at),
                version: r.version,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One canned response (read from its event stream: always current).
#[utoipa::path(get, path = "/v1/canned-responses/{id}", tag = "canned responses", params(("id" = String, Path)),
    responses((status = 200, body = CannedView, headers(("ETag" = String))), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_canned(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let id: CannedResponseId = path_id(&path, "canned response")?;
    let (c, version) = load_live(&state, &auth, &id).await?;
    Ok(answer(StatusCode::OK, version, None, &view(&c, version)))
}

/// Change the name, category (`null` removes it) or body.
#[utoipa::path(patch, path = "/v1/canned-responses/{id}", tag = "canned responses", request_body = UpdateCannedBody,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = CannedView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_canned(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<UpdateCannedBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let id: CannedResponseId = path_id(&path, "canned response")?;
    let expected = if_match(&req)?;
    let mut p = Problems::default();
    let name = body
        .name
        .as_deref()
        .and_then(|n| p.take(ResourceName::parse(n)));
    let category = body
        .category
        .as_ref()
        .map(|c| parse_category(c.as_deref(), &mut p));
    let text = body.body.as_deref().and_then(|b| parse_body(b, &mut p));
    p.finish()?;
    let outcome = execute_named::<CannedResponse>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, expected),
        CannedCommand::Update(UpdateCanned {
            name,
            category,
            body: text,
        }),
    )
    .await
    .map_err(|e| named_error(e, NOT_FOUND))?;
    if outcome.state.workspace_id.as_ref() != Some(&auth.workspace) {
        return Err(ApiError::NotFound(NOT_FOUND.into()));
    }
    Ok(answer(
        StatusCode::OK,
        outcome.version,
        outcome.position,
        &view(&outcome.state, outcome.version),
    ))
}

/// Delete a canned response; its name becomes free.
#[utoipa::path(delete, path = "/v1/canned-responses/{id}", tag = "canned responses",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204, headers(("X-Event-Position" = String))), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete_canned(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let id: CannedResponseId = path_id(&path, "canned response")?;
    let expected = if_match(&req)?;
    let outcome = execute_named::<CannedResponse>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, expected),
        CannedCommand::Delete,
    )
    .await
    .map_err(|e| named_error(e, NOT_FOUND))?;
    let mut res = HttpResponse::NoContent();
    with_position(&mut res, outcome.position);
    Ok(res.finish())
}

async fn rendered(
    state: &AppState,
    auth: &Auth,
    id: &CannedResponseId,
    ticket: &TicketId,
) -> Result<RenderedView> {
    let (c, version) = load_live(state, auth, id).await?;
    let body = TemplateBody::parse(&c.body).map_err(|e| template_error(e, "body"))?;
    let ctx = render_context(state, auth, ticket).await?;
    let text = render(&body, &ctx).map_err(|e| template_error(e, "body"))?;
    Ok(RenderedView {
        text,
        version,
        variables: body.variables().into_iter().collect(),
    })
}

/// The text for a ticket. A variable the ticket has no value for (or that
/// does not exist) is a 422 naming it, never a blank.
#[utoipa::path(post, path = "/v1/canned-responses/{id}/render", tag = "canned responses", request_body = RenderBody,
    params(("id" = String, Path)),
    responses((status = 200, body = RenderedView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn render_canned(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: web::Json<RenderBody>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let id: CannedResponseId = path_id(&path, "canned response")?;
    if body.version.is_some() {
        return Err(ApiError::field(
            "version",
            "canned responses have no versions to choose from; use a template",
        ));
    }
    let ticket = body_ticket_id(&body.ticket_id)?;
    Ok(HttpResponse::Ok().json(rendered(&state, &auth, &id, &ticket).await?))
}

async fn send(
    state: &AppState,
    auth: &Auth,
    req: &HttpRequest,
    id: CannedResponseId,
    ticket: TicketId,
) -> Result<HttpResponse> {
    let r = rendered(state, auth, &id, &ticket).await?;
    send_rendered(
        state,
        auth,
        req,
        ticket,
        &r.text,
        TemplateRef {
            kind: TemplateKind::CannedResponse,
            id: id.to_string(),
            version: r.version,
        },
    )
    .await
}

/// Send the canned response to a ticket as the caller's public reply. The
/// message records which canned response (and version) it came from.
#[utoipa::path(post, path = "/v1/canned-responses/{id}/send", tag = "canned responses", request_body = SendBody,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = SentView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 200, body = SentView, description = "repeat of an earlier request with the same Idempotency-Key"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn send_canned(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<SendBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let id: CannedResponseId = path_id(&path, "canned response")?;
    if body.version.is_some() {
        return Err(ApiError::field(
            "version",
            "canned responses have no versions to choose from; use a template",
        ));
    }
    let ticket = body_ticket_id(&body.ticket_id)?;
    send(&state, &auth, &req, id, ticket).await
}

/// Reply on the ticket with a canned response, named by id or by name.
#[utoipa::path(post, path = "/v1/tickets/{id}/canned", tag = "canned responses", request_body = TicketCannedBody,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = SentView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 200, body = SentView, description = "repeat of an earlier request with the same Idempotency-Key"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn ticket_canned(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<TicketCannedBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let ticket = ticket_id(&path)?;
    let id = match (&body.canned_response_id, &body.name) {
        (Some(raw), None) => raw
            .parse::<CannedResponseId>()
            .map_err(|_| ApiError::field("canned_response_id", "must be a canned response id"))?,
        (None, Some(name)) => {
            let owner = owner_of::<CannedResponse>(&state.store, &auth.workspace, name).await?;
            owner
                .and_then(|o| o.parse().ok())
                .ok_or_else(|| ApiError::NotFound(format!("no canned response named '{name}'")))?
        }
        _ => {
            return Err(ApiError::field(
                "canned_response_id",
                "give exactly one of canned_response_id and name",
            ));
        }
    };
    send(&state, &auth, &req, id, ticket).await
}
