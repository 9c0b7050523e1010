//! Escalation policies (CRUD, admin): ordered rules of conditions and
//! actions; every change a new version.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tgcrm_domain::EscalationPolicyId;
use tgcrm_domain::escalation::{
    EscalationPolicy, EscalationPolicyCommand, EscalationPolicyDefinition, EscalationPolicyRefused,
};
use tgcrm_domain::values::ResourceName;
use tgcrm_projections::cursor::decode_time_id;
use tgcrm_projections::sla::policies;
use tgcrm_store::commands::execute;
use tgcrm_store::load::load;

use super::sla::{ADMINS, ListPoliciesQuery, READERS, context};
use super::writing::{answer, path_id};
use super::{idempotency_key, if_match, page_limit, wait_consistent, with_position};
use crate::auth::Auth;
use crate::dto::Problems;
use crate::dto_sla::{
    CreateEscalationPolicyBody, EscalationPolicyPageView, EscalationPolicyView,
    UpdateEscalationPolicyBody, parse_rules,
};
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

const NOT_FOUND: &str = "escalation policy not found";

impl From<EscalationPolicyRefused> for ApiError {
    fn from(e: EscalationPolicyRefused) -> Self {
        match e {
            EscalationPolicyRefused::NotFound => Self::NotFound(NOT_FOUND.into()),
            EscalationPolicyRefused::Deleted => Self::Conflict {
                slug: "deleted",
                detail: e.to_string(),
            },
        }
    }
}

fn not_found(e: tgcrm_store::commands::CommandError<EscalationPolicyRefused>) -> ApiError {
    match e {
        tgcrm_store::commands::CommandError::NotFound => ApiError::NotFound(NOT_FOUND.into()),
        other => other.into(),
    }
}

fn view(p: &EscalationPolicy, version: i64) -> Result<EscalationPolicyView> {
    let (Some(id), Some(d)) = (p.id, &p.definition) else {
        return Err(ApiError::NotFound(NOT_FOUND.into()));
    };
    Ok(EscalationPolicyView::of(
        &id.to_string(),
        d,
        version,
        p.created_at,
        p.updated_at,
    ))
}

async fn load_live(
    state: &AppState,
    auth: &Auth,
    id: &EscalationPolicyId,
) -> Result<(EscalationPolicy, i64)> {
    let loaded = load::<EscalationPolicy>(state.store.db(), &id.to_string()).await?;
    if loaded.state.is_live() && loaded.state.workspace_id.as_ref() == Some(&auth.workspace) {
        Ok((loaded.state, loaded.version))
    } else {
        Err(ApiError::NotFound(NOT_FOUND.into()))
    }
}

/// Create an escalation policy. Its enabled rules are checked against open
/// tickets continuously; each rule fires at most once per ticket and is
/// recorded as `TicketEscalated` with its tier (its position).
#[utoipa::path(post, path = "/v1/escalation-policies", tag = "sla", request_body = CreateEscalationPolicyBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 201, body = EscalationPolicyView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 200, body = EscalationPolicyView, description = "repeat of an earlier request with the same Idempotency-Key"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_escalation_policy(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: web::Json<CreateEscalationPolicyBody>,
) -> Result<HttpResponse> {
    auth.require(ADMINS)?;
    let key = idempotency_key(&req)?;
    let mut p = Problems::default();
    let name = p.take(ResourceName::parse(&body.name));
    let rules = parse_rules(&body.rules, &mut p);
    let definition = match (name, rules) {
        (Some(name), Some(rules)) => p.take(EscalationPolicyDefinition::new(
            name,
            body.description.clone(),
            body.enabled.unwrap_or(true),
            rules,
        )),
        _ => None,
    };
    p.finish()?;
    let Some(definition) = definition else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let id = match &key {
        Some(k) => EscalationPolicyId::from_idempotency_key(&auth.workspace, k),
        None => EscalationPolicyId::new(),
    };
    let outcome = execute::<EscalationPolicy>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, None),
        EscalationPolicyCommand::Create {
            id,
            workspace_id: auth.workspace.clone(),
            definition,
        },
    )
    .await
    .map_err(not_found)?;
    let status = if outcome.events.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut res = answer(
        status,
        outcome.version,
        outcome.position,
        &view(&outcome.state, outcome.version)?,
    );
    if let Ok(v) =
        actix_web::http::header::HeaderValue::from_str(&format!("/v1/escalation-policies/{id}"))
    {
        res.headers_mut()
            .insert(actix_web::http::header::LOCATION, v);
    }
    Ok(res)
}

/// Escalation policies, oldest first.
#[utoipa::path(get, path = "/v1/escalation-policies", tag = "sla", params(ListPoliciesQuery),
    responses((status = 200, body = EscalationPolicyPageView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_escalation_policies(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<ListPoliciesQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let limit = page_limit(q.limit)?;
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(decode_time_id(c).map_err(|e| ApiError::field("cursor", e.to_string()))?),
    };
    wait_consistent(&state, &[policies::NAME], q.consistent_with.as_deref()).await?;
    let page =
        policies::list_escalation_policies(state.store.db(), auth.workspace.as_str(), limit, after)
            .await?;
    let mut items = Vec::new();
    for r in page.items {
        let def: EscalationPolicyDefinition =
            serde_json::from_value(r.definition).map_err(|e| {
                ApiError::Internal(anyhow::Error::new(e).context("stored escalation policy"))
            })?;
        items.push(EscalationPolicyView::of(
            &r.policy_id,
            &def,
            r.version,
            Some(r.created_at),
            Some(r.updated_at),
        ));
    }
    Ok(HttpResponse::Ok().json(EscalationPolicyPageView {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// One escalation policy, current version.
#[utoipa::path(get, path = "/v1/escalation-policies/{id}", tag = "sla", params(("id" = String, Path)),
    responses((status = 200, body = EscalationPolicyView, headers(("ETag" = String))), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_escalation_policy(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let id: EscalationPolicyId = path_id(&path, "escalation policy")?;
    let (policy, version) = load_live(&state, &auth, &id).await?;
    Ok(answer(
        StatusCode::OK,
        version,
        None,
        &view(&policy, version)?,
    ))
}

/// Change an escalation policy; each change is a new version. Send rules
/// back with their ids: a rule without one is new and may fire again.
#[utoipa::path(patch, path = "/v1/escalation-policies/{id}", tag = "sla", request_body = UpdateEscalationPolicyBody,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = EscalationPolicyView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_escalation_policy(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<UpdateEscalationPolicyBody>,
) -> Result<HttpResponse> {
    auth.require(ADMINS)?;
    let id: EscalationPolicyId = path_id(&path, "escalation policy")?;
    let expected = if_match(&req)?;
    let (current, version) = load_live(&state, &auth, &id).await?;
    if let Some(e) = expected
        && e != version
    {
        return Err(ApiError::PreconditionFailed {
            expected: e,
            current: version,
        });
    }
    let Some(cur) = &current.definition else {
        return Err(ApiError::NotFound(NOT_FOUND.into()));
    };
    let mut p = Problems::default();
    let name = match &body.name {
        Some(n) => p.take(ResourceName::parse(n)),
        None => Some(cur.name.clone()),
    };
    let rules = match &body.rules {
        Some(r) => parse_rules(r, &mut p),
        None => Some(cur.rules.clone()),
    };
    let description = match &body.description {
        Some(d) => d.clone(),
        None => cur.description.clone(),
    };
    let definition = match (name, rules) {
        (Some(name), Some(rules)) => p.take(EscalationPolicyDefinition::new(
            name,
            description,
            body.enabled.unwrap_or(cur.enabled),
            rules,
        )),
        _ => None,
    };
    p.finish()?;
    let Some(definition) = definition else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let outcome = execute::<EscalationPolicy>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, Some(version)),
        EscalationPolicyCommand::Update(definition),
    )
    .await
    .map_err(not_found)?;
    Ok(answer(
        StatusCode::OK,
        outcome.version,
        outcome.position,
        &view(&outcome.state, outcome.version)?,
    ))
}

/// Delete an escalation policy; its rules stop firing.
#[utoipa::path(delete, path = "/v1/escalation-policies/{id}", tag = "sla",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204, headers(("X-Event-Position" = String))), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete_escalation_policy(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(ADMINS)?;
    let id: EscalationPolicyId = path_id(&path, "escalation policy")?;
    let expected = if_match(&req)?;
    let outcome = execute::<EscalationPolicy>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, expected),
        EscalationPolicyCommand::Delete,
    )
    .await
    .map_err(not_found)?;
    let mut res = HttpResponse::NoContent();
    with_position(&mut res, outcome.position);
    Ok(res.finish())
}
