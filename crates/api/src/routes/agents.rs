//! `/v1/agents`: who works tickets. Agents are recognised in Telegram by
//! their user id; availability is theirs (or an admin's) to set.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tgcrm_domain::agent::{Agent, AgentCommand, AgentError, AgentName, Availability, Profile};
use tgcrm_domain::values::{Tag, TelegramUserId, TelegramUsername, ValueError};
use tgcrm_domain::{AgentId, TeamId};
use tgcrm_store::commands::{CommandContext, CommandError, CommandOutcome, execute};
use tgcrm_store::tokens::Role;
use utoipa::{IntoParams, ToSchema};

use super::{etag, idempotency_key, if_match, page_limit, with_position};
use crate::auth::Auth;
use crate::dto::Problems;
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterAgent {
    pub name: String,
    pub telegram_user_id: Option<i64>,
    /// With or without `@`.
    pub telegram_username: Option<String>,
    #[serde(default)]
    pub teams: Vec<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    /// Most active tickets at once (1–1000). Absent: the queue's default
    /// capacity applies (5 when no queue sets one).
    pub max_concurrent: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateAgent {
    pub name: Option<String>,
    /// `null` removes the Telegram binding.
    #[serde(default, with = "serde_with_none")]
    #[schema(value_type = Option<i64>)]
    pub telegram_user_id: Option<Option<i64>>,
    pub telegram_username: Option<String>,
    pub teams: Option<Vec<String>>,
    pub skills: Option<Vec<String>>,
    /// `null` returns to the queue's default capacity.
    #[serde(default, with = "serde_with_none")]
    #[schema(value_type = Option<u32>)]
    pub max_concurrent: Option<Option<u32>>,
}

/// Distinguishes an absent field from an explicit `null`.
mod serde_with_none {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Option::<T>::deserialize(d).map(Some)
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetAvailability {
    /// online, away or offline.
    pub availability: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    pub telegram_user_id: Option<i64>,
    pub telegram_username: Option<String>,
    pub teams: Vec<String>,
    pub skills: Vec<String>,
    /// Their own capacity; `null`: the queue's default applies.
    pub max_concurrent: Option<u32>,
    pub availability: String,
    /// Active tickets assigned to them now (from the queue read model).
    pub load: i64,
    pub active: bool,
    pub registered_at: Option<DateTime<Utc>>,
    pub version: i64,
}

impl AgentView {
    fn of(a: &Agent, version: i64, load: i64) -> Self {
        let p = a.profile.as_ref();
        Self {
            id: a.id.map(|i| i.to_string()).unwrap_or_default(),
            name: p.map(|p| p.name.as_str().to_owned()).unwrap_or_default(),
            telegram_user_id: p.and_then(|p| p.telegram_user_id.map(|t| t.get())),
            telegram_username: p
                .and_then(|p| p.telegram_username.as_ref().map(|u| u.as_str().to_owned())),
            teams: p
                .map(|p| p.teams.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            skills: p
                .map(|p| p.skills.iter().map(|s| s.as_str().to_owned()).collect())
                .unwrap_or_default(),
            max_concurrent: p.and_then(|p| p.max_concurrent),
            availability: a.availability.as_str().to_owned(),
            load,
            active: a.active,
            registered_at: a.registered_at,
            version,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentPage {
    #[schema(value_type = Vec<Object>)]
    pub items: Vec<AgentListItem>,
    pub next_cursor: Option<String>,
}

/// A row of the agents directory with the agent's current load.
#[derive(Debug, Serialize)]
pub struct AgentListItem {
    #[serde(flatten)]
    pub agent: tgcrm_projections::agents::AgentRow,
    /// Active tickets assigned to them now.
    pub load: i64,
}

/// An agent's current load (active tickets assigned), from the queue read model.
async fn load_of(state: &AppState, auth: &Auth, id: &AgentId) -> Result<i64> {
    let id = id.to_string();
    Ok(
        tgcrm_projections::queue::agent_loads(state.store.db(), auth.workspace.as_str())
            .await?
            .into_iter()
            .find(|l| l.agent_id == id)
            .map_or(0, |l| l.load),
    )
}

fn parse_teams(raw: &[String], p: &mut Problems) -> BTreeSet<TeamId> {
    raw.iter()
        .filter_map(|t| match t.parse::<TeamId>() {
            Ok(t) => Some(t),
            Err(_) => {
                p.push("teams", format!("'{t}' is not a team id (UUID)"));
                None
            }
        })
        .collect()
}

fn parse_skills(raw: &[String], p: &mut Problems) -> BTreeSet<Tag> {
    raw.iter()
        .filter_map(|s| p.take(Tag::parse(s).map_err(|e| ValueError::new("skills", e.reason))))
        .collect()
}

fn parse_capacity(raw: Option<u32>, p: &mut Problems) -> Option<u32> {
    match raw {
        None => None,
        Some(n) if (1..=Profile::MAX_CONCURRENT).contains(&n) => Some(n),
        Some(_) => {
            p.push("max_concurrent", "must be between 1 and 1000");
            None
        }
    }
}

fn map_err(e: CommandError<AgentError>) -> ApiError {
    match e {
        CommandError::NotFound | CommandError::Refused(AgentError::NotFound) => {
            ApiError::NotFound("agent not found".into())
        }
        CommandError::Refused(AgentError::Deactivated) => ApiError::Conflict {
            slug: "agent-deactivated",
            detail: AgentError::Deactivated.to_string(),
        },
        CommandError::VersionMismatch { expected, current } => {
            ApiError::PreconditionFailed { expected, current }
        }
        CommandError::Contended => ApiError::Conflict {
            slug: "contended",
            detail: "the agent kept changing under this request; try again".into(),
        },
        CommandError::Load(l) => l.into(),
        CommandError::Append(e) => e.into(),
        other => ApiError::Internal(anyhow::Error::new(other)),
    }
}

async fn run(
    state: &AppState,
    auth: &Auth,
    id: &AgentId,
    expected: Option<i64>,
    command: AgentCommand,
) -> Result<CommandOutcome<Agent>> {
    let ctx = CommandContext {
        workspace_id: auth.workspace.clone(),
        metadata: auth.metadata(),
        expected_version: expected,
    };
    execute::<Agent>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &ctx,
        command,
    )
    .await
    .map_err(map_err)
}

async fn answer(
    state: &AppState,
    auth: &Auth,
    status: StatusCode,
    o: &CommandOutcome<Agent>,
) -> Result<HttpResponse> {
    let load = match o.state.id {
        Some(id) => load_of(state, auth, &id).await?,
        None => 0,
    };
    let mut res = HttpResponse::build(status);
    res.insert_header(etag(o.version));
    with_position(&mut res, o.position);
    Ok(res.json(AgentView::of(&o.state, o.version, load)))
}

async fn telegram_taken(
    state: &AppState,
    auth: &Auth,
    tg: Option<TelegramUserId>,
    except: Option<&AgentId>,
) -> Result<()> {
    let Some(tg) = tg else { return Ok(()) };
    if let Some(other) = tgcrm_projections::agents::by_telegram_id(
        state.store.db(),
        auth.workspace.as_str(),
        tg.get(),
    )
    .await?
        && except.is_none_or(|e| e.to_string() != other.agent_id)
    {
        return Err(ApiError::Conflict {
            slug: "telegram-user-taken",
            detail: format!(
                "Telegram user {} is already agent {}",
                tg.get(),
                other.agent_id
            ),
        });
    }
    Ok(())
}

fn agent_id(raw: &str) -> Result<AgentId> {
    raw.parse()
        .map_err(|_| ApiError::NotFound("agent not found".into()))
}

/// Register an agent.
#[utoipa::path(post, path = "/v1/agents", tag = "agents", request_body = RegisterAgent,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = AgentView), (status = 200, body = AgentView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn register(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: web::Json<RegisterAgent>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let key = idempotency_key(&req)?;
    let mut p = Problems::default();
    let name = p.take(AgentName::parse(&body.name));
    let tg = body
        .telegram_user_id
        .and_then(|t| p.take(TelegramUserId::parse(t)));
    let username = body
        .telegram_username
        .as_deref()
        .and_then(|u| p.take(TelegramUsername::parse(u)));
    let teams = parse_teams(&body.teams, &mut p);
    let skills = parse_skills(&body.skills, &mut p);
    let max_concurrent = parse_capacity(body.max_concurrent, &mut p);
    p.finish()?;
    let Some(name) = name else {
        return Err(ApiError::field("name", "required"));
    };
    let id = match &key {
        Some(k) => AgentId::from_idempotency_key(&auth.workspace, k),
        None => AgentId::new(),
    };
    if key.is_none() {
        telegram_taken(&state, &auth, tg, None).await?;
    }
    let profile = Profile {
        name,
        telegram_user_id: tg,
        telegram_username: username,
        teams,
        skills,
        max_concurrent,
    };
    let o = run(
        &state,
        &auth,
        &id,
        None,
        AgentCommand::Register {
            agent_id: id,
            workspace_id: auth.workspace.clone(),
            profile,
        },
    )
    .await?;
    answer(
        &state,
        &auth,
        if o.events.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        &o,
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListAgents {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The workspace's agents.
#[utoipa::path(get, path = "/v1/agents", tag = "agents", params(ListAgents),
    responses((status = 200, body = AgentPage), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<ListAgents>,
) -> Result<HttpResponse> {
    auth.require(super::tickets::READERS)?;
    let limit = page_limit(q.limit)?;
    if let Some(c) = &q.cursor
        && c.parse::<AgentId>().is_err()
    {
        return Err(ApiError::field(
            "cursor",
            "the cursor is not valid (use the next_cursor of a previous page)",
        ));
    }
    let mut items = tgcrm_projections::agents::list(
        state.store.db(),
        auth.workspace.as_str(),
        q.cursor.as_deref(),
        limit + 1,
    )
    .await?;
    let loads: std::collections::HashMap<String, i64> =
        tgcrm_projections::queue::agent_loads(state.store.db(), auth.workspace.as_str())
            .await?
            .into_iter()
            .map(|l| (l.agent_id, l.load))
            .collect();
    let next = if items.len() as i64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(0));
        items.last().map(|a| a.agent_id.clone())
    } else {
        None
    };
    let items = items
        .into_iter()
        .map(|agent| AgentListItem {
            load: loads.get(&agent.agent_id).copied().unwrap_or(0),
            agent,
        })
        .collect();
    Ok(HttpResponse::Ok().json(AgentPage {
        items,
        next_cursor: next,
    }))
}

/// One agent, from its event stream.
#[utoipa::path(get, path = "/v1/agents/{id}", tag = "agents", params(("id" = String, Path)),
    responses((status = 200, body = AgentView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(super::tickets::READERS)?;
    let id = agent_id(&path)?;
    let loaded = tgcrm_store::load::load::<Agent>(state.store.db(), &id.to_string()).await?;
    if loaded.state.workspace_id.as_ref() != Some(&auth.workspace) {
        return Err(ApiError::NotFound("agent not found".into()));
    }
    let load = load_of(&state, &auth, &id).await?;
    Ok(HttpResponse::Ok()
        .insert_header(etag(loaded.version))
        .json(AgentView::of(&loaded.state, loaded.version, load)))
}

/// Change an agent's profile (only the fields given).
#[utoipa::path(patch, path = "/v1/agents/{id}", tag = "agents", request_body = UpdateAgent,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = AgentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<UpdateAgent>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let id = agent_id(&path)?;
    let expected = if_match(&req)?;
    let loaded = tgcrm_store::load::load::<Agent>(state.store.db(), &id.to_string()).await?;
    let (Some(current), true) = (
        loaded.state.profile.clone(),
        loaded.state.workspace_id.as_ref() == Some(&auth.workspace),
    ) else {
        return Err(ApiError::NotFound("agent not found".into()));
    };
    let mut p = Problems::default();
    let mut next = current;
    if let Some(n) = &body.name
        && let Some(n) = p.take(AgentName::parse(n))
    {
        next.name = n;
    }
    match body.telegram_user_id {
        Some(Some(t)) => next.telegram_user_id = p.take(TelegramUserId::parse(t)),
        Some(None) => next.telegram_user_id = None,
        None => {}
    }
    if let Some(u) = &body.telegram_username {
        next.telegram_username = p.take(TelegramUsername::parse(u));
    }
    if let Some(t) = &body.teams {
        next.teams = parse_teams(t, &mut p);
    }
    if let Some(s) = &body.skills {
        next.skills = parse_skills(s, &mut p);
    }
    match body.max_concurrent {
        Some(Some(n)) => next.max_concurrent = parse_capacity(Some(n), &mut p),
        Some(None) => next.max_concurrent = None,
        None => {}
    }
    p.finish()?;
    telegram_taken(&state, &auth, next.telegram_user_id, Some(&id)).await?;
    let o = run(
        &state,
        &auth,
        &id,
        expected,
        AgentCommand::ChangeProfile(next),
    )
    .await?;
    answer(&state, &auth, StatusCode::OK, &o).await
}

/// Set availability: online, away or offline. An agent may set their own.
#[utoipa::path(post, path = "/v1/agents/{id}/availability", tag = "agents", request_body = SetAvailability,
    params(("id" = String, Path)),
    responses((status = 200, body = AgentView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn availability(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: web::Json<SetAvailability>,
) -> Result<HttpResponse> {
    let id = agent_id(&path)?;
    if auth.agent != Some(id) {
        auth.require(&[Role::Admin])?;
    }
    let to: Availability = body
        .availability
        .parse()
        .map_err(|e: ValueError| ApiError::field("availability", e.reason))?;
    let o = run(&state, &auth, &id, None, AgentCommand::SetAvailability(to)).await?;
    answer(&state, &auth, StatusCode::OK, &o).await
}

/// Deactivate an agent (they go offline and are no longer recognised in Telegram).
#[utoipa::path(post, path = "/v1/agents/{id}/deactivate", tag = "agents", params(("id" = String, Path)),
    responses((status = 200, body = AgentView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn deactivate(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let id = agent_id(&path)?;
    let o = run(&state, &auth, &id, None, AgentCommand::Deactivate).await?;
    answer(&state, &auth, StatusCode::OK, &o).await
}

/// Reactivate a deactivated agent.
#[utoipa::path(post, path = "/v1/agents/{id}/reactivate", tag = "agents", params(("id" = String, Path)),
    responses((status = 200, body = AgentView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn reactivate(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let id = agent_id(&path)?;
    let o = run(&state, &auth, &id, None, AgentCommand::Reactivate).await?;
    answer(&state, &auth, StatusCode::OK, &o).await
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/agents").post(register).get(list))
        .service(web::resource("/v1/agents/{id}").get(get).patch(update))
        .service(web::resource("/v1/agents/{id}/availability").post(availability))
        .service(web::resource("/v1/agents/{id}/deactivate").post(deactivate))
        .service(web::resource("/v1/agents/{id}/reactivate").post(reactivate));
}
