//! Response templates: CRUD with versions, sharing enforced on every read and
//! use, rendering (any version) and sending as a reply.
//!
//! Who sees a template: admins all; an agent the workspace-wide ones, its own
//! private ones, those of its teams and those it owns. Anything else is 404.
//! Who changes one: admins, and the agent who owns it. Agents may share with
//! themselves, with teams they belong to, or with the workspace.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tgcrm_domain::response_template::{
    CreateTemplate, EditTemplate, ResponseTemplate, Sharing, TemplateCommand,
};
use tgcrm_domain::templating::{TemplateBody, TemplateKind, TemplateRef, render};
use tgcrm_domain::values::{Category, ResourceName};
use tgcrm_domain::{AgentId, TeamId, TemplateId, TicketId};
use tgcrm_projections::templates::{self as rm, TemplateFilter, Viewer};
use tgcrm_projections::writing_cursor::decode_key_id;
use tgcrm_store::commands::CommandContext;
use tgcrm_store::load::load;
use tgcrm_store::named::{execute_named, load_version};
use tgcrm_store::tokens::Role;
use utoipa::IntoParams;

use super::writing::{
    READERS, WRITERS, agent_teams, answer, body_ticket_id, named_error, path_id, render_context,
    send_rendered, template_error,
};
use super::{idempotency_key, if_match, page_limit, wait_consistent, with_position};
use crate::auth::Auth;
use crate::dto::Problems;
use crate::dto_writing::{
    CreateTemplateBody, EditTemplateBody, RenderBody, RenderedView, SendBody, SentView,
    SharingBody, SharingView, TemplatePageView, TemplateVersionView, TemplateVersionsView,
    TemplateView,
};
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

const NOT_FOUND: &str = "template not found";

/// The caller as far as sharing is concerned.
struct Caller {
    admin: bool,
    agent: Option<AgentId>,
    teams: Vec<String>,
}

async fn caller(state: &AppState, auth: &Auth) -> Result<Caller> {
    let teams = match auth.agent {
        Some(a) => agent_teams(state.store.db(), auth.workspace.as_str(), &a.to_string()).await?,
        None => vec![],
    };
    Ok(Caller {
        admin: auth.token.role == Role::Admin,
        agent: auth.agent,
        teams,
    })
}

impl Caller {
    fn may_see(&self, t: &ResponseTemplate) -> bool {
        if self.admin || (t.owner.is_some() && t.owner == self.agent) {
            return true;
        }
        match t.sharing {
            Some(Sharing::Workspace) => true,
            Some(Sharing::Private { agent_id }) => self.agent == Some(agent_id),
            Some(Sharing::Team { team_id }) => self.teams.contains(&team_id.to_string()),
            None => false,
        }
    }

    fn may_edit(&self, t: &ResponseTemplate) -> bool {
        self.admin || (t.owner.is_some() && t.owner == self.agent)
    }

    fn may_share(&self, sharing: &Sharing) -> Result<()> {
        if self.admin {
            return Ok(());
        }
        match sharing {
            Sharing::Workspace => Ok(()),
            Sharing::Private { agent_id } if self.agent == Some(*agent_id) => Ok(()),
            Sharing::Private { .. } => Err(ApiError::Forbidden(
                "an agent may keep private templates only for itself".into(),
            )),
            Sharing::Team { team_id } if self.teams.contains(&team_id.to_string()) => Ok(()),
            Sharing::Team { team_id } => Err(ApiError::Forbidden(format!(
                "you are not a member of team {team_id}; share with one of your teams"
            ))),
        }
    }
}

fn parse_sharing(raw: Option<&SharingBody>, caller: &Caller, p: &mut Problems) -> Option<Sharing> {
    let Some(raw) = raw else {
        return Some(match caller.agent {
            Some(agent_id) => Sharing::Private { agent_id },
            None => Sharing::Workspace,
        });
    };
    match raw.scope.as_str() {
        "private" => {
            if raw.team_id.is_some() {
                p.push("sharing.team_id", "only for scope team");
            }
            match raw.agent_id.as_deref() {
                Some(a) => match a.parse() {
                    Ok(agent_id) => Some(Sharing::Private { agent_id }),
                    Err(_) => {
                        p.push("sharing.agent_id", "must be an agent id (a UUID)");
                        None
                    }
                },
                None => match caller.agent {
                    Some(agent_id) => Some(Sharing::Private { agent_id }),
                    None => {
                        p.push(
                            "sharing.agent_id",
                            "this token is not bound to an agent: name the agent the template is private to",
                        );
                        None
                    }
                },
            }
        }
        "team" => {
            if raw.agent_id.is_some() {
                p.push("sharing.agent_id", "only for scope private");
            }
            match raw.team_id.as_deref().map(str::parse::<TeamId>) {
                Some(Ok(team_id)) => Some(Sharing::Team { team_id }),
                Some(Err(_)) => {
                    p.push("sharing.team_id", "must be a team id (a UUID)");
                    None
                }
                None => {
                    p.push("sharing.team_id", "required for scope team");
                    None
                }
            }
        }
        "workspace" => {
            if raw.agent_id.is_some() || raw.team_id.is_some() {
                p.push(
                    "sharing",
                    "scope workspace takes neither agent_id nor team_id",
                );
            }
            Some(Sharing::Workspace)
        }
        other => {
            p.push(
                "sharing.scope",
                format!("unknown scope '{other}'; expected private, team or workspace"),
            );
            None
        }
    }
}

fn sharing_view(scope: &str, subject: Option<String>) -> SharingView {
    SharingView {
        scope: scope.to_owned(),
        agent_id: subject.clone().filter(|_| scope == "private"),
        team_id: subject.filter(|_| scope == "team"),
    }
}

fn variables(body: &str) -> Vec<String> {
    TemplateBody::parse(body)
        .map(|b| b.variables().into_iter().collect())
        .unwrap_or_default()
}

fn view(t: &ResponseTemplate, version: i64) -> TemplateView {
    let sharing = t.sharing.unwrap_or(Sharing::Workspace);
    TemplateView {
        id: t.id.map(|i| i.to_string()).unwrap_or_default(),
        name: t
            .name
            .as_ref()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        category: t.category.as_ref().map(|c| c.as_str().to_owned()),
        body: t.body.clone(),
        sharing: sharing_view(sharing.scope(), sharing.subject()),
        owner_agent_id: t.owner.map(|o| o.to_string()),
        variables: variables(&t.body),
        created_at: t.created_at,
        updated_at: t.updated_at,
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

/// The live template `id` if the caller may see it, and its version.
async fn load_visible(
    state: &AppState,
    auth: &Auth,
    caller: &Caller,
    id: &TemplateId,
) -> Result<(ResponseTemplate, i64)> {
    let loaded = load::<ResponseTemplate>(state.store.db(), &id.to_string()).await?;
    let t = loaded.state;
    if t.is_live() && t.workspace_id.as_ref() == Some(&auth.workspace) && caller.may_see(&t) {
        Ok((t, loaded.version))
    } else {
        Err(ApiError::NotFound(NOT_FOUND.into()))
    }
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

/// Create a template (version 1). Names are unique in the workspace.
#[utoipa::path(post, path = "/v1/templates", tag = "templates", request_body = CreateTemplateBody,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 201, body = TemplateView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 200, body = TemplateView, description = "repeat of an earlier request with the same Idempotency-Key"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_template(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: web::Json<CreateTemplateBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let key = idempotency_key(&req)?;
    let who = caller(&state, &auth).await?;
    let mut p = Problems::default();
    let name = p.take(ResourceName::parse(&body.name));
    let category = body
        .category
        .as_deref()
        .and_then(|c| p.take(Category::parse(c)));
    let text = parse_body(&body.body, &mut p);
    let sharing = parse_sharing(body.sharing.as_ref(), &who, &mut p);
    p.finish()?;
    let (Some(name), Some(text), Some(sharing)) = (name, text, sharing) else {
        return Err(ApiError::Internal(anyhow::anyhow!(
            "validated fields missing"
        )));
    };
    who.may_share(&sharing)?;
    let id = match &key {
        Some(k) => TemplateId::from_idempotency_key(&auth.workspace, k),
        None => TemplateId::new(),
    };
    let outcome = execute_named::<ResponseTemplate>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, None),
        TemplateCommand::Create(CreateTemplate {
            id,
            workspace_id: auth.workspace.clone(),
            name,
            category,
            body: text,
            sharing,
            owner: auth.agent,
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
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&format!("/v1/templates/{id}")) {
        res.headers_mut()
            .insert(actix_web::http::header::LOCATION, v);
    }
    Ok(res)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListTemplatesQuery {
    pub category: Option<String>,
    /// Part of the name, any case.
    pub q: Option<String>,
    /// private, team or workspace.
    pub scope: Option<String>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// Wait until the list includes the write that returned this X-Event-Position.
    pub consistent_with: Option<String>,
}

/// The templates the caller may see, by name.
#[utoipa::path(get, path = "/v1/templates", tag = "templates", params(ListTemplatesQuery),
    responses((status = 200, body = TemplatePageView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_templates(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<ListTemplatesQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let limit = page_limit(q.limit)?;
    if let Some(s) = q.scope.as_deref()
        && !matches!(s, "private" | "team" | "workspace")
    {
        return Err(ApiError::field(
            "scope",
            "must be private, team or workspace",
        ));
    }
    let after = match q.cursor.as_deref() {
        None => None,
        Some(c) => Some(decode_key_id(c).map_err(|e| ApiError::field("cursor", e.to_string()))?),
    };
    let who = caller(&state, &auth).await?;
    wait_consistent(&state, &[rm::NAME], q.consistent_with.as_deref()).await?;
    let page = rm::list(
        state.store.db(),
        &TemplateFilter {
            workspace_id: auth.workspace.to_string(),
            viewer: Viewer {
                sees_all: who.admin,
                agent_id: who.agent.map(|a| a.to_string()),
                team_ids: who.teams.clone(),
            },
            category: q.category.clone(),
            name_contains: q.q.clone().filter(|s| !s.trim().is_empty()),
            scope: q.scope.clone(),
            limit,
            after,
        },
    )
    .await?;
    Ok(HttpResponse::Ok().json(TemplatePageView {
        items: page
            .items
            .into_iter()
            .map(|r| TemplateView {
                variables: variables(&r.body),
                sharing: sharing_view(&r.sharing_scope, r.sharing_subject),
                id: r.template_id,
                name: r.name,
                category: r.category,
                body: r.body,
                owner_agent_id: r.owner_agent_id,
                created_at: Some(r.created_at),
                updated_at: Some(r.updated_at),
                version: r.version,
            })
            .collect(),
        next_cursor: page.next_cursor,
    }))
}

/// One template, current version (read from its event stream).
#[utoipa::path(get, path = "/v1/templates/{id}", tag = "templates", params(("id" = String, Path)),
    responses((status = 200, body = TemplateView, headers(("ETag" = String))), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_template(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let id: TemplateId = path_id(&path, "template")?;
    let who = caller(&state, &auth).await?;
    let (t, version) = load_visible(&state, &auth, &who, &id).await?;
    Ok(answer(StatusCode::OK, version, None, &view(&t, version)))
}

/// Edit a template: every change makes a new version; the old ones stay
/// readable. `category: null` removes the category.
#[utoipa::path(patch, path = "/v1/templates/{id}", tag = "templates", request_body = EditTemplateBody,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = TemplateView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn edit_template(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<EditTemplateBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let id: TemplateId = path_id(&path, "template")?;
    let expected = if_match(&req)?;
    let who = caller(&state, &auth).await?;
    let (current, _) = load_visible(&state, &auth, &who, &id).await?;
    if !who.may_edit(&current) {
        return Err(ApiError::Forbidden(
            "only its owner or an admin may change this template".into(),
        ));
    }
    let mut p = Problems::default();
    let name = body
        .name
        .as_deref()
        .and_then(|n| p.take(ResourceName::parse(n)));
    let category = body
        .category
        .as_ref()
        .map(|c| c.as_deref().and_then(|c| p.take(Category::parse(c))));
    let text = body.body.as_deref().and_then(|b| parse_body(b, &mut p));
    let sharing = match &body.sharing {
        Some(s) => parse_sharing(Some(s), &who, &mut p),
        None => None,
    };
    p.finish()?;
    if let Some(s) = &sharing {
        who.may_share(s)?;
    }
    let outcome = execute_named::<ResponseTemplate>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, expected),
        TemplateCommand::Edit(EditTemplate {
            name,
            category,
            body: text,
            sharing,
        }),
    )
    .await
    .map_err(|e| named_error(e, NOT_FOUND))?;
    Ok(answer(
        StatusCode::OK,
        outcome.version,
        outcome.position,
        &view(&outcome.state, outcome.version),
    ))
}

/// Delete a template; its name becomes free.
#[utoipa::path(delete, path = "/v1/templates/{id}", tag = "templates",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 204, headers(("X-Event-Position" = String))), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
pub async fn delete_template(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let id: TemplateId = path_id(&path, "template")?;
    let expected = if_match(&req)?;
    let who = caller(&state, &auth).await?;
    let (current, _) = load_visible(&state, &auth, &who, &id).await?;
    if !who.may_edit(&current) {
        return Err(ApiError::Forbidden(
            "only its owner or an admin may delete this template".into(),
        ));
    }
    let outcome = execute_named::<ResponseTemplate>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, expected),
        TemplateCommand::Delete,
    )
    .await
    .map_err(|e| named_error(e, NOT_FOUND))?;
    let mut res = HttpResponse::NoContent();
    with_position(&mut res, outcome.position);
    Ok(res.finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct VersionsQuery {
    /// Wait until the versions include the write that returned this X-Event-Position.
    pub consistent_with: Option<String>,
}

fn version_view(r: rm::VersionRow) -> TemplateVersionView {
    TemplateVersionView {
        sharing: sharing_view(&r.sharing_scope, r.sharing_subject),
        template_id: r.template_id,
        version: r.version,
        name: r.name,
        category: r.category,
        body: r.body,
        author: r.author,
        created_at: r.created_at,
        uses: r.uses,
    }
}

/// Every version of a template, newest first, with how often each was sent.
#[utoipa::path(get, path = "/v1/templates/{id}/versions", tag = "templates",
    params(("id" = String, Path), VersionsQuery),
    responses((status = 200, body = TemplateVersionsView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_template_versions(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    q: web::Query<VersionsQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let id: TemplateId = path_id(&path, "template")?;
    let who = caller(&state, &auth).await?;
    load_visible(&state, &auth, &who, &id).await?;
    wait_consistent(&state, &[rm::NAME], q.consistent_with.as_deref()).await?;
    let rows = rm::versions(state.store.db(), auth.workspace.as_str(), &id.to_string()).await?;
    Ok(HttpResponse::Ok().json(TemplateVersionsView {
        items: rows.into_iter().map(version_view).collect(),
    }))
}

/// One version of a template.
#[utoipa::path(get, path = "/v1/templates/{id}/versions/{version}", tag = "templates",
    params(("id" = String, Path), ("version" = i64, Path), VersionsQuery),
    responses((status = 200, body = TemplateVersionView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_template_version(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<(String, String)>,
    q: web::Query<VersionsQuery>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let (raw_id, raw_version) = path.into_inner();
    let id: TemplateId = path_id(&raw_id, "template")?;
    let version: i64 = path_id(&raw_version, "version")?;
    let who = caller(&state, &auth).await?;
    load_visible(&state, &auth, &who, &id).await?;
    wait_consistent(&state, &[rm::NAME], q.consistent_with.as_deref()).await?;
    let row = rm::version(
        state.store.db(),
        auth.workspace.as_str(),
        &id.to_string(),
        version,
    )
    .await?
    .ok_or_else(|| ApiError::NotFound(format!("the template has no version {version}")))?;
    Ok(HttpResponse::Ok().json(version_view(row)))
}

/// Render version `version` (default: the current one) of a visible template.
async fn rendered(
    state: &AppState,
    auth: &Auth,
    id: &TemplateId,
    version: Option<i64>,
    ticket: &TicketId,
) -> Result<RenderedView> {
    let who = caller(state, auth).await?;
    let (current, current_version) = load_visible(state, auth, &who, id).await?;
    let (source, version) = match version {
        None => (current.body, current_version),
        Some(v) if v == current_version => (current.body, v),
        Some(v) => {
            let old = load_version::<ResponseTemplate>(state.store.db(), &id.to_string(), v)
                .await?
                .filter(|t| t.is_live())
                .ok_or_else(|| {
                    ApiError::field("version", format!("the template has no version {v}"))
                })?;
            (old.body, v)
        }
    };
    let body = TemplateBody::parse(&source).map_err(|e| template_error(e, "body"))?;
    let ctx = render_context(state, auth, ticket).await?;
    let text = render(&body, &ctx).map_err(|e| template_error(e, "body"))?;
    Ok(RenderedView {
        text,
        version,
        variables: body.variables().into_iter().collect(),
    })
}

/// The text for a ticket, with the conditions decided on its values. A
/// variable it has no value for is a 422 naming it.
#[utoipa::path(post, path = "/v1/templates/{id}/render", tag = "templates", request_body = RenderBody,
    params(("id" = String, Path)),
    responses((status = 200, body = RenderedView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn render_template(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: web::Json<RenderBody>,
) -> Result<HttpResponse> {
    auth.require(READERS)?;
    let id: TemplateId = path_id(&path, "template")?;
    let ticket = body_ticket_id(&body.ticket_id)?;
    Ok(HttpResponse::Ok().json(rendered(&state, &auth, &id, body.version, &ticket).await?))
}

/// Send the template (current or a chosen version) to a ticket as the
/// caller's public reply; the message records the version used.
#[utoipa::path(post, path = "/v1/templates/{id}/send", tag = "templates", request_body = SendBody,
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = SentView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 200, body = SentView, description = "repeat of an earlier request with the same Idempotency-Key"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn send_template(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<SendBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let id: TemplateId = path_id(&path, "template")?;
    let ticket = body_ticket_id(&body.ticket_id)?;
    let r = rendered(&state, &auth, &id, body.version, &ticket).await?;
    send_rendered(
        &state,
        &auth,
        &req,
        ticket,
        &r.text,
        TemplateRef {
            kind: TemplateKind::ResponseTemplate,
            id: id.to_string(),
            version: r.version,
        },
    )
    .await
}
