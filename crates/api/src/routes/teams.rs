//! `/v1/teams`: groups of agents with a queue of their own. Names are unique
//! in the workspace. Membership is recorded on each agent (their profile's
//! teams); a team's `members` field changes those agents.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tgcrm_domain::agent::{Agent, AgentCommand};
use tgcrm_domain::queue::{MAX_CAPACITY, QueueError};
use tgcrm_domain::routing::{Strategy, effective_capacity};
use tgcrm_domain::team::{Team, TeamCommand, TeamError, TeamUpdate};
use tgcrm_domain::values::ResourceName;
use tgcrm_domain::{AgentId, TeamId};
use tgcrm_store::commands::{CommandContext, CommandError, CommandOutcome, execute};
use tgcrm_store::named::execute_named;
use tgcrm_store::tokens::Role;
use utoipa::IntoParams;

use super::writing::named_error;
use super::{etag, idempotency_key, if_match, page_limit, with_position};
use crate::auth::Auth;
use crate::dto::Problems;
use crate::dto_queues::{CreateTeam, MemberView, TeamPage, TeamView, UpdateTeam};
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

const NOT_FOUND: &str = "team not found";

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        let detail = e.to_string();
        match e {
            QueueError::TicketNotQueued => Self::Conflict {
                slug: "not-in-queue",
                detail,
            },
            QueueError::BadPosition => Self::field("position", detail),
            QueueError::BadCapacity => Self::field("default_capacity", detail),
        }
    }
}

impl From<TeamError> for ApiError {
    fn from(e: TeamError) -> Self {
        match e {
            TeamError::NotFound => Self::NotFound(NOT_FOUND.into()),
            TeamError::Queue(q) => q.into(),
        }
    }
}

pub(crate) fn parse_strategy(raw: &str, p: &mut Problems) -> Option<Strategy> {
    p.take(raw.parse::<Strategy>())
}

/// A capacity from a request: 1–1000.
pub(crate) fn parse_capacity(raw: i64, field: &str, p: &mut Problems) -> Option<u32> {
    match u32::try_from(raw) {
        Ok(n) if (1..=MAX_CAPACITY).contains(&n) => Some(n),
        _ => {
            p.push(field, format!("must be between 1 and {MAX_CAPACITY}"));
            None
        }
    }
}

/// A team id from the path; anything that is not one is simply not found.
pub(crate) fn team_id(raw: &str) -> Result<TeamId> {
    raw.parse()
        .map_err(|_| ApiError::NotFound(NOT_FOUND.into()))
}

/// Does the agent exist in the caller's workspace? (`Ok(false)` also for
/// another workspace's agent: existence never leaks.)
pub(crate) async fn agent_exists(state: &AppState, auth: &Auth, id: &AgentId) -> Result<bool> {
    let loaded = tgcrm_store::load::load::<Agent>(state.store.db(), &id.to_string()).await?;
    Ok(loaded.state.workspace_id.as_ref() == Some(&auth.workspace))
}

/// The team, if it exists in the caller's workspace.
pub(crate) async fn load_team(
    state: &AppState,
    auth: &Auth,
    id: &TeamId,
) -> Result<Option<(Team, i64)>> {
    let loaded = tgcrm_store::load::load::<Team>(state.store.db(), &id.to_string()).await?;
    Ok(
        (loaded.state.workspace_id.as_ref() == Some(&auth.workspace))
            .then_some((loaded.state, loaded.version)),
    )
}

/// Agent ids from a request, each one of the workspace's agents.
async fn parse_agents(
    state: &AppState,
    auth: &Auth,
    raw: &[String],
    field: &str,
    p: &mut Problems,
) -> Result<BTreeSet<AgentId>> {
    let mut out = BTreeSet::new();
    for a in raw {
        match a.parse::<AgentId>() {
            Ok(id) if agent_exists(state, auth, &id).await? => {
                out.insert(id);
            }
            Ok(_) => p.push(field, format!("no agent {a} in this workspace")),
            Err(_) => p.push(field, format!("'{a}' is not an agent id (UUID)")),
        }
    }
    Ok(out)
}

fn context(auth: &Auth, expected: Option<i64>) -> CommandContext {
    CommandContext {
        workspace_id: auth.workspace.clone(),
        metadata: auth.metadata(),
        expected_version: expected,
    }
}

/// Make exactly `members` the team's members (when given): each agent's own
/// teams change, one agent at a time (each change is idempotent, so a retry
/// finishes what a failed request started).
async fn sync_members(
    state: &AppState,
    auth: &Auth,
    team: &TeamId,
    members: &BTreeSet<AgentId>,
) -> Result<Option<tgcrm_store::Position>> {
    let mut last = None;
    let current: BTreeSet<AgentId> = tgcrm_projections::teams::members(
        state.store.db(),
        auth.workspace.as_str(),
        Some(&team.to_string()),
    )
    .await?
    .into_iter()
    .filter_map(|m| m.agent_id.parse().ok())
    .collect();
    for agent in members.union(&current) {
        let loaded = tgcrm_store::load::load::<Agent>(state.store.db(), &agent.to_string()).await?;
        let Some(mut profile) = loaded.state.profile.clone() else {
            continue;
        };
        if loaded.state.workspace_id.as_ref() != Some(&auth.workspace) {
            continue;
        }
        let changed = if members.contains(agent) {
            profile.teams.insert(*team)
        } else {
            profile.teams.remove(team)
        };
        if !changed {
            continue;
        }
        let o = execute::<Agent>(
            &state.store,
            state.clock.as_ref(),
            &agent.to_string(),
            &context(auth, None),
            AgentCommand::ChangeProfile(profile),
        )
        .await
        .map_err(|e| match e {
            CommandError::Refused(r) => ApiError::Conflict {
                slug: "agent-deactivated",
                detail: format!("agent {agent}: {r}"),
            },
            CommandError::Contended => ApiError::Conflict {
                slug: "contended",
                detail: format!("agent {agent} kept changing under this request; try again"),
            },
            CommandError::Load(l) => l.into(),
            CommandError::Append(e) => e.into(),
            other => ApiError::Internal(anyhow::Error::new(other)),
        })?;
        last = last.max(o.position);
    }
    Ok(last)
}

/// The team with its members, their load and capacity.
pub(crate) async fn view(
    state: &AppState,
    auth: &Auth,
    team: &Team,
    version: i64,
) -> Result<TeamView> {
    let id = team.id.map(|i| i.to_string()).unwrap_or_default();
    let db = state.store.db();
    let ws = tgcrm_projections::teams::workspace_settings(db, auth.workspace.as_str()).await?;
    let ws_default = ws.default_capacity.and_then(|c| u32::try_from(c).ok());
    let members = tgcrm_projections::teams::members(db, auth.workspace.as_str(), Some(&id))
        .await?
        .into_iter()
        .map(|m| member_view(m, team.queue.default_capacity, ws_default))
        .collect();
    Ok(TeamView {
        id,
        name: team
            .name
            .as_ref()
            .map(|n| n.as_str().to_owned())
            .unwrap_or_default(),
        lead_agent_id: team.lead.map(|l| l.to_string()),
        strategy: team.queue.strategy.as_str().to_owned(),
        paused: team.queue.paused,
        default_capacity: team.queue.default_capacity,
        members,
        created_at: team.created_at,
        version,
    })
}

pub(crate) fn member_view(
    m: tgcrm_projections::teams::MemberRow,
    queue_default: Option<u32>,
    workspace_default: Option<u32>,
) -> MemberView {
    MemberView {
        capacity: effective_capacity(
            m.max_concurrent.and_then(|c| u32::try_from(c).ok()),
            queue_default,
            workspace_default,
        ),
        agent_id: m.agent_id,
        name: m.name,
        availability: m.availability,
        active: m.active,
        load: m.load,
    }
}

async fn answer(
    state: &AppState,
    auth: &Auth,
    status: StatusCode,
    o: &CommandOutcome<Team>,
) -> Result<HttpResponse> {
    let body = view(state, auth, &o.state, o.version).await?;
    let mut res = HttpResponse::build(status);
    res.insert_header(etag(o.version));
    with_position(&mut res, o.position);
    Ok(res.json(body))
}

/// Create a team.
#[utoipa::path(post, path = "/v1/teams", tag = "teams", request_body = CreateTeam,
    params(("Idempotency-Key" = Option<String>, Header, description = "makes retries safe")),
    responses((status = 201, body = TeamView, headers(("ETag" = String), ("X-Event-Position" = String))),
        (status = 200, body = TeamView, description = "repeat of an earlier request with the same Idempotency-Key"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn create_team(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    body: web::Json<CreateTeam>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let key = idempotency_key(&req)?;
    let mut p = Problems::default();
    let name = p.take(ResourceName::parse(&body.name));
    let strategy = match &body.strategy {
        Some(s) => parse_strategy(s, &mut p),
        None => Some(Strategy::default()),
    };
    let default_capacity = body
        .default_capacity
        .and_then(|c| parse_capacity(c, "default_capacity", &mut p));
    let lead = match &body.lead_agent_id {
        Some(l) => parse_agents(
            &state,
            &auth,
            std::slice::from_ref(l),
            "lead_agent_id",
            &mut p,
        )
        .await?
        .into_iter()
        .next(),
        None => None,
    };
    let members = parse_agents(&state, &auth, &body.members, "members", &mut p).await?;
    p.finish()?;
    let (Some(name), Some(strategy)) = (name, strategy) else {
        return Err(ApiError::field("name", "required"));
    };
    let id = match &key {
        Some(k) => TeamId::from_idempotency_key(&auth.workspace, k),
        None => TeamId::new(),
    };
    let mut o = execute_named::<Team>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, None),
        TeamCommand::Create {
            team_id: id,
            workspace_id: auth.workspace.clone(),
            name,
            strategy,
            default_capacity,
            lead,
        },
    )
    .await
    .map_err(|e| named_error(e, NOT_FOUND))?;
    if !members.is_empty() {
        // The answer's position covers the membership changes too.
        o.position = o
            .position
            .max(sync_members(&state, &auth, &id, &members).await?);
    }
    let status = if o.events.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let mut res = answer(&state, &auth, status, &o).await?;
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&format!("/v1/teams/{id}")) {
        res.headers_mut()
            .insert(actix_web::http::header::LOCATION, v);
    }
    Ok(res)
}

#[derive(Debug, serde::Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListTeams {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// The workspace's teams.
#[utoipa::path(get, path = "/v1/teams", tag = "teams", params(ListTeams),
    responses((status = 200, body = TeamPage), (status = 401, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn list_teams(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<ListTeams>,
) -> Result<HttpResponse> {
    auth.require(super::tickets::READERS)?;
    let limit = page_limit(q.limit)?;
    if let Some(c) = &q.cursor
        && c.parse::<TeamId>().is_err()
    {
        return Err(ApiError::field(
            "cursor",
            "the cursor is not valid (use the next_cursor of a previous page)",
        ));
    }
    let mut items = tgcrm_projections::teams::list(
        state.store.db(),
        auth.workspace.as_str(),
        q.cursor.as_deref(),
        limit + 1,
    )
    .await?;
    let next = if items.len() as i64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(0));
        items.last().map(|t| t.team_id.clone())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(TeamPage {
        items,
        next_cursor: next,
    }))
}

/// One team, with its members' load.
#[utoipa::path(get, path = "/v1/teams/{id}", tag = "teams", params(("id" = String, Path)),
    responses((status = 200, body = TeamView), (status = 401, body = Problem), (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_team(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(super::tickets::READERS)?;
    let id = team_id(&path)?;
    let Some((team, version)) = load_team(&state, &auth, &id).await? else {
        return Err(ApiError::NotFound(NOT_FOUND.into()));
    };
    let body = view(&state, &auth, &team, version).await?;
    Ok(HttpResponse::Ok().insert_header(etag(version)).json(body))
}

/// Change a team (only the fields given). `members` replaces the member list.
#[utoipa::path(patch, path = "/v1/teams/{id}", tag = "teams", request_body = UpdateTeam,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = TeamView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn update_team(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<UpdateTeam>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let id = team_id(&path)?;
    let expected = if_match(&req)?;
    if load_team(&state, &auth, &id).await?.is_none() {
        return Err(ApiError::NotFound(NOT_FOUND.into()));
    }
    let mut p = Problems::default();
    let mut update = TeamUpdate::default();
    if let Some(n) = &body.name {
        update.name = p.take(ResourceName::parse(n));
    }
    if let Some(s) = &body.strategy {
        update.strategy = parse_strategy(s, &mut p);
    }
    match body.default_capacity {
        Some(Some(c)) => {
            update.default_capacity = parse_capacity(c, "default_capacity", &mut p).map(Some);
        }
        Some(None) => update.default_capacity = Some(None),
        None => {}
    }
    match &body.lead_agent_id {
        Some(Some(l)) => {
            update.lead = parse_agents(
                &state,
                &auth,
                std::slice::from_ref(l),
                "lead_agent_id",
                &mut p,
            )
            .await?
            .into_iter()
            .next()
            .map(Some);
        }
        Some(None) => update.lead = Some(None),
        None => {}
    }
    let members = match &body.members {
        Some(m) => Some(parse_agents(&state, &auth, m, "members", &mut p).await?),
        None => None,
    };
    p.finish()?;
    let mut o = execute_named::<Team>(
        &state.store,
        state.clock.as_ref(),
        &id.to_string(),
        &context(&auth, expected),
        TeamCommand::Update(update),
    )
    .await
    .map_err(|e| named_error(e, NOT_FOUND))?;
    if let Some(members) = members {
        // The answer's position covers the membership changes too.
        o.position = o
            .position
            .max(sync_members(&state, &auth, &id, &members).await?);
    }
    answer(&state, &auth, StatusCode::OK, &o).await
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/teams").post(create_team).get(list_teams))
        .service(
            web::resource("/v1/teams/{id}")
                .get(get_team)
                .patch(update_team),
        );
}
