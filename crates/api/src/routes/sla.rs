//! SLA policies (CRUD, admin; every change a new version) and the list of
//! breached and at-risk targets.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tgcrm_domain::SlaPolicyId;
use tgcrm_domain::sla::policy::{SlaPolicy, SlaPolicyCommand, SlaPolicyRefused};
use tgcrm_projections::cursor::decode_time_id;
use tgcrm_projections::sla::{deadlines, policies};
use tgcrm_projections::writing_cursor::decode_key_id;
use tgcrm_store::commands::{CommandContext, execute};
use tgcrm_store::load::load;
use tgcrm_store::tokens::Role;
use utoipa::IntoParams;

use super::writing::{answer, path_id};
use super::{idempotency_key, if_match, page_limit, wait_consistent, with_position};
use crate::auth::Auth;
use crate::dto::Problems;
use crate::dto_sla::{
    BreachPageView, CreateSlaPolicyBody, SlaPolicyPageView, SlaPolicyView, UpdateSlaPolicyBody,
};
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

/// Who may change service-level and escalation policies.
pub(crate) const ADMINS: &[Role] = &[Role::Admin];
/// Who may read policies, breaches and metrics.
pub(crate) const READERS: &[Role] = &[Role::Admin, Role::Agent, Role::Analyst, Role::Auditor];

const NOT_FOUND: &str = "SLA policy not found";

impl From<SlaPolicyRefused> for ApiError {
    fn from(e: SlaPolicyRefused) -> Self {
        match e {
            SlaPolicyRefused::NotFound => Self::NotFound(NOT_FOUND.into()),
            SlaPolicyRefused::Deleted => Self::Conflict {
                slug: "deleted",
                detail: e.to_string(),
            },
        }
    }
}

pub(crate) fn context(auth: &Auth, expected_version: Option<i64>) -> CommandContext {
    CommandContext {
        workspace_id: auth.workspace.clone(),
        metadata: auth.metadata(),
        expected_version,
    }
}

fn not_found(e: tgcrm_store::commands::CommandError<SlaPolicyRefused>) -> ApiError {
    match e {
        tgcrm_store::commands::CommandError::NotFound => ApiError::NotFound(NOT_FOUND.into()),
        other => other.into(),
    }
}

fn view(p: &SlaPolicy, version: i64) -> Result<SlaPolicyView> {
    let (Some(id), Some(d)) = (p.id, &p.definition) else {
        return Err(ApiError::NotFound(NOT_FOUND.into()));
    };
    Ok(SlaPolicyView::of(
        &id.to_string(),
        d,
        version,
        p.created_at,
        p.updated_at,
    ))
}

async fn load_live(state: &AppState, auth: &Auth, id: &SlaPolicyId) -> Result<(SlaPolicy, i64)> {
    let loaded = load::<SlaPolicy>(state.store.db(), &id.to_string()).await?;
    if loaded.state.is_live() && loaded.state.workspace_id.as_ref() == Some(&auth.workspace) {
        Ok((loaded.state, loaded.version))
    } else {
        Err(ApiError::NotFound(NOT_FOUND.into()))
    }
}

/// Create an SLA policy: targets per priority, which tickets it covers, its
/// calendar and warning threshold. New and changed tickets get the first
/// enabled matching policy by rank.
#[utoipa::path(post, path = "/v1/sla-policies", tag = "sla", request_body = CreateSlaPolicyBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 201, body = SlaPolicyView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 200, body = SlaPolicyView, description = "repeat of an earlier request with the same Idempotency-Key"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_sla_policy(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: web::Json<CreateSlaPolicyBody>,
) -> Result<HttpResponse> {
    auth.require(ADMINS)?;
    let key = idempotency_key(&req)?;
    let mut p = Problems::default();
    let definition = body.parse(&mut p);
    p.finish()?;
    let Some(definition) = definition else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let id = match &key {
        Some(k) => SlaPolicyId::from_idempotency_key(&auth.workspace, k),
        None => SlaPolicyId::new(),
    };
    let outcome = execute::<SlaPolicy>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, None),
        SlaPolicyCommand::Create {
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
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&format!("/v1/sla-policies/{id}"))
    {
        res.headers_mut()
            .insert(actix_web::http::header::LOCATION, v);
    }
    Ok(res)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListPoliciesQuery {
    /// 1–100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Wait until the list includes the write that returned this X-Event-Position.
    pub consistent_with: Option<String>,
}

/// SLA policies in the order they are tried (rank).
#[utoipa::path(get, path = "/v1/sla-policies", tag = "sla", params(ListPoliciesQuery),
    responses((status = 200, body = SlaPolicyPageView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_sla_policies(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<ListPoliciesQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let limit = page_limit(q.limit)?;
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => {
            let (rank, id) =
                decode_key_id(c).map_err(|e| ApiError::field("cursor", e.to_string()))?;
            let rank: i64 = rank
                .parse()
                .map_err(|_| ApiError::field("cursor", "the cursor is not valid"))?;
            Some((rank, id))
        }
    };
    wait_consistent(&state, &[policies::NAME], q.consistent_with.as_deref()).await?;
    let page = policies::list_sla_policies(state.store.db(), auth.workspace.as_str(), limit, after)
        .await?;
    let mut items = Vec::new();
    for r in page.items {
        let def = serde_json::from_value(r.definition)
            .map_err(|e| ApiError::Internal(anyhow::Error::new(e).context("stored SLA policy")))?;
        items.push(SlaPolicyView::of(
            &r.policy_id,
            &def,
            r.version,
            Some(r.created_at),
            Some(r.updated_at),
        ));
    }
    Ok(HttpResponse::Ok().json(SlaPolicyPageView {
        items,
        next_cursor: page.next_cursor,
    }))
}

/// One SLA policy, current version (read from its events).
#[utoipa::path(get, path = "/v1/sla-policies/{id}", tag = "sla", params(("id" = String, Path)),
    responses((status = 200, body = SlaPolicyView, headers(("ETag" = String))), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_sla_policy(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let id: SlaPolicyId = path_id(&path, "SLA policy")?;
    let (policy, version) = load_live(&state, &auth, &id).await?;
    Ok(answer(
        StatusCode::OK,
        version,
        None,
        &view(&policy, version)?,
    ))
}

/// Change an SLA policy; each change is a new version. Tickets already
/// measured keep the version applied to them until they change.
#[utoipa::path(patch, path = "/v1/sla-policies/{id}", tag = "sla", request_body = UpdateSlaPolicyBody,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = SlaPolicyView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_sla_policy(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<UpdateSlaPolicyBody>,
) -> Result<HttpResponse> {
    auth.require(ADMINS)?;
    let id: SlaPolicyId = path_id(&path, "SLA policy")?;
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
    let Some(current_def) = &current.definition else {
        return Err(ApiError::NotFound(NOT_FOUND.into()));
    };
    let mut p = Problems::default();
    let definition = body.apply(current_def, &mut p);
    p.finish()?;
    let Some(definition) = definition else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    let outcome = execute::<SlaPolicy>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        // The definition was merged over `version`: it must still be current.
        &context(&auth, Some(version)),
        SlaPolicyCommand::Update(definition),
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

/// Delete an SLA policy. Tickets it was applied to keep their deadlines.
#[utoipa::path(delete, path = "/v1/sla-policies/{id}", tag = "sla",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204, headers(("X-Event-Position" = String))), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete_sla_policy(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(ADMINS)?;
    let id: SlaPolicyId = path_id(&path, "SLA policy")?;
    let expected = if_match(&req)?;
    let outcome = execute::<SlaPolicy>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, expected),
        SlaPolicyCommand::Delete,
    )
    .await
    .map_err(not_found)?;
    let mut res = HttpResponse::NoContent();
    with_position(&mut res, outcome.position);
    Ok(res.finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct BreachesQuery {
    /// breached or warning (at risk); both when absent.
    pub state: Option<String>,
    /// A team id.
    pub team: Option<String>,
    /// An agent id.
    pub agent: Option<String>,
    /// first_response, next_response or resolution.
    pub metric: Option<String>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Wait until the list reflects the write that returned this X-Event-Position.
    pub consistent_with: Option<String>,
}

/// Breached and at-risk (warned) targets of open tickets, most overdue first.
#[utoipa::path(get, path = "/v1/sla/breaches", tag = "sla", params(BreachesQuery),
    responses((status = 200, body = BreachPageView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_breaches(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<BreachesQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let mut p = Problems::default();
    let states = match q.state.as_deref() {
        None => vec![],
        Some(s @ ("breached" | "warning")) => vec![s.to_owned()],
        Some(other) => {
            p.push(
                "state",
                format!("unknown state '{other}'; expected breached or warning"),
            );
            vec![]
        }
    };
    let team = q.team.as_deref().and_then(|t| p.uuid("team", t));
    let agent = q.agent.as_deref().and_then(|a| p.uuid("agent", a));
    let metric = q.metric.as_deref().and_then(|m| {
        p.take(m.parse::<tgcrm_domain::sla::Metric>())
            .map(|m| m.as_str().to_owned())
    });
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
    wait_consistent(&state, &[deadlines::NAME], q.consistent_with.as_deref()).await?;
    let page = deadlines::breaches(
        state.store.db(),
        &deadlines::BreachFilter {
            workspace_id: auth.workspace.to_string(),
            states,
            team,
            agent,
            metric,
            limit,
            after,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(BreachPageView {
        items: page.items.into_iter().map(Into::into).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Register the service-level routes: SLA and escalation policies, breaches, metrics.
pub(crate) fn configure(cfg: &mut web::ServiceConfig) {
    use super::{escalation, service_metrics};

    cfg.service(
        web::resource("/v1/sla-policies")
            .post(create_sla_policy)
            .get(list_sla_policies),
    )
    .service(
        web::resource("/v1/sla-policies/{id}")
            .get(get_sla_policy)
            .patch(update_sla_policy)
            .delete(delete_sla_policy),
    )
    .service(
        web::resource("/v1/escalation-policies")
            .post(escalation::create_escalation_policy)
            .get(escalation::list_escalation_policies),
    )
    .service(
        web::resource("/v1/escalation-policies/{id}")
            .get(escalation::get_escalation_policy)
            .patch(escalation::update_escalation_policy)
            .delete(escalation::delete_escalation_policy),
    )
    .service(web::resource("/v1/sla/breaches").get(list_breaches))
    .service(web::resource("/v1/metrics/first-response").get(service_metrics::first_response))
    .service(web::resource("/v1/metrics/resolution").get(service_metrics::resolution))
    .service(web::resource("/v1/metrics/sla").get(service_metrics::sla));
}
