//! `/v1/queues/{team}`: a team's queue of waiting tickets, or the whole
//! workspace's (`all`): the ordered tickets, stats, pause and resume
//! (distribution only; intake goes on), default capacity, strategy, and the
//! manual order.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use tgcrm_domain::queue::{
    Placement, QueueCommand, QueueSettings, Reorder, WorkspaceQueue, WorkspaceQueueCommand,
};
use tgcrm_domain::{TeamId, TicketId};
use tgcrm_projections::queue::{QueueCursor, QueueRef};
use tgcrm_store::Position;
use tgcrm_store::commands::{CommandContext, CommandError, execute};
use tgcrm_store::tokens::Role;
use utoipa::IntoParams;

use super::teams::{load_team, member_view, parse_capacity, parse_strategy};
use super::{etag, page_limit, wait_consistent, with_position};
use crate::auth::Auth;
use crate::dto::Problems;
use crate::dto_queues::{
    CapacityBody, PriorityCounts, QueueItemView, QueuePage, QueueSettingsView, QueueStatsView,
    ReorderBody, StrategyBody,
};
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

const NOT_FOUND: &str = "queue not found";

/// Which queue the path names.
#[derive(Debug, Clone, Copy)]
enum Target {
    All,
    Team(TeamId),
}

impl Target {
    fn parse(raw: &str) -> Result<Self> {
        if raw == "all" {
            return Ok(Self::All);
        }
        raw.parse()
            .map(Self::Team)
            .map_err(|_| ApiError::NotFound(NOT_FOUND.into()))
    }

    fn name(self) -> String {
        match self {
            Self::All => "all".to_owned(),
            Self::Team(t) => t.to_string(),
        }
    }

    fn read_ref(self) -> QueueRef {
        match self {
            Self::All => QueueRef::All,
            Self::Team(t) => QueueRef::Team(t.to_string()),
        }
    }
}

/// The queue's settings and version, as of now; 404 for a team of another workspace.
async fn settings(state: &AppState, auth: &Auth, target: Target) -> Result<(QueueSettings, i64)> {
    match target {
        Target::Team(id) => load_team(state, auth, &id)
            .await?
            .map(|(t, v)| (t.queue, v))
            .ok_or_else(|| ApiError::NotFound(NOT_FOUND.into())),
        Target::All => {
            let loaded = tgcrm_store::load::load::<WorkspaceQueue>(
                state.store.db(),
                auth.workspace.as_str(),
            )
            .await?;
            Ok((loaded.state.settings, loaded.version))
        }
    }
}

/// The workspace queue's default capacity (the fallback of every queue).
async fn workspace_capacity(state: &AppState, auth: &Auth) -> Result<Option<u32>> {
    Ok(settings(state, auth, Target::All).await?.0.default_capacity)
}

fn settings_view(target: Target, s: &QueueSettings, version: i64) -> QueueSettingsView {
    QueueSettingsView {
        queue: target.name(),
        paused: s.paused,
        strategy: s.strategy.as_str().to_owned(),
        default_capacity: s.default_capacity,
        manual_order: s.manual_order.iter().map(ToString::to_string).collect(),
        version,
    }
}

fn not_found<E: tgcrm_domain::Refusal + Into<ApiError>>(e: CommandError<E>) -> ApiError {
    match e {
        CommandError::NotFound => ApiError::NotFound(NOT_FOUND.into()),
        other => other.into(),
    }
}

/// Decide a queue command on the team or the workspace queue and answer with its settings.
async fn command(
    state: &AppState,
    auth: &Auth,
    target: Target,
    command: QueueCommand,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let ctx = CommandContext {
        workspace_id: auth.workspace.clone(),
        metadata: auth.metadata(),
        expected_version: None,
    };
    let (settings, version, position): (QueueSettings, i64, Option<Position>) = match target {
        Target::Team(id) => {
            let o = execute::<tgcrm_domain::team::Team>(
                &state.store,
                state.clock.as_ref(),
                &id.to_string(),
                &ctx,
                tgcrm_domain::team::TeamCommand::Queue(command),
            )
            .await
            .map_err(not_found)?;
            (o.state.queue, o.version, o.position)
        }
        Target::All => {
            let o = execute::<WorkspaceQueue>(
                &state.store,
                state.clock.as_ref(),
                auth.workspace.as_str(),
                &ctx,
                WorkspaceQueueCommand {
                    workspace_id: auth.workspace.clone(),
                    command,
                },
            )
            .await
            .map_err(not_found)?;
            (o.state.settings, o.version, o.position)
        }
    };
    let mut res = HttpResponse::Ok();
    res.insert_header(etag(version));
    with_position(&mut res, position);
    Ok(res.json(settings_view(target, &settings, version)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
    /// An `X-Event-Position`: wait until the queue reflects that write.
    pub consistent_with: Option<String>,
}

/// API cursors carry the offset (for `position`) and the keyset cursor.
fn decode_cursor(raw: &str) -> Result<(i64, QueueCursor)> {
    let bad = || {
        ApiError::field(
            "cursor",
            "the cursor is not valid (use the next_cursor of a previous page)",
        )
    };
    let (offset, inner) = raw.split_once('.').ok_or_else(bad)?;
    let offset: i64 = offset.parse().map_err(|_| bad())?;
    if offset < 0 {
        return Err(bad());
    }
    Ok((offset, QueueCursor::decode(inner).map_err(|_| bad())?))
}

/// The waiting tickets of a team (or of the workspace: `all`), in queue order.
#[utoipa::path(get, path = "/v1/queues/{team}", tag = "queues",
    params(("team" = String, Path, description = "a team id, or `all`"), QueueQuery),
    responses((status = 200, body = QueuePage), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn get_queue(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    q: web::Query<QueueQuery>,
) -> Result<HttpResponse> {
    auth.require(super::tickets::READERS)?;
    let target = Target::parse(&path)?;
    let limit = page_limit(q.limit)?;
    let after = q.cursor.as_deref().map(decode_cursor).transpose()?;
    // The page joins the ticket list for subjects: wait for both.
    wait_consistent(
        &state,
        &[
            tgcrm_projections::queue::NAME,
            tgcrm_projections::ticket_list::NAME,
        ],
        q.consistent_with.as_deref(),
    )
    .await?;
    let offset = after.as_ref().map_or(0, |(o, _)| *o);
    let queue = target.read_ref();
    let page = |placed: bool| {
        tgcrm_projections::queue::list(
            state.store.db(),
            auth.workspace.as_str(),
            &queue,
            after.as_ref().map(|(_, c)| c),
            limit + 1,
            placed,
        )
    };
    // Most queues hold no manual order: read the settings and that page
    // side by side, on two connections, and read again the rare time the
    // settings do place tickets by hand.
    let (settings, unplaced) = futures::join!(settings(&state, &auth, target), page(false));
    let (settings, _) = settings?;
    let mut items = if settings.manual_order.is_empty() {
        unplaced?
    } else {
        page(true).await?
    };
    let next = if items.len() as i64 > limit {
        items.truncate(usize::try_from(limit).unwrap_or(0));
        items
            .last()
            .map(|i| format!("{}.{}", offset + limit, i.cursor().encode()))
    } else {
        None
    };
    let items = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| QueueItemView {
            position: offset + i64::try_from(i).unwrap_or(0) + 1,
            needs: match &item.needs {
                serde_json::Value::String(s) => serde_json::from_str(s).unwrap_or_default(),
                v => serde_json::from_value(v.clone()).unwrap_or_default(),
            },
            placed: item.manual_rank.is_some(),
            ticket_id: item.ticket_id,
            subject: item.subject,
            team_id: item.team_id,
            priority: item.priority,
            status: item.status,
            opened_at: item.opened_at,
            waiting_since: item.waiting_since,
            sla_due_at: item.sla_due_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(QueuePage {
        queue: target.name(),
        paused: settings.paused,
        items,
        next_cursor: next,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// An `X-Event-Position`: wait until the stats reflect that write.
    pub consistent_with: Option<String>,
}

/// Depth, oldest wait, per-priority counts and per-agent load against capacity.
#[utoipa::path(get, path = "/v1/queues/{team}/stats", tag = "queues",
    params(("team" = String, Path, description = "a team id, or `all`"), StatsQuery),
    responses((status = 200, body = QueueStatsView), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)),
    security(("bearer" = [])))]
pub async fn queue_stats(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    q: web::Query<StatsQuery>,
) -> Result<HttpResponse> {
    auth.require(super::tickets::READERS)?;
    let target = Target::parse(&path)?;
    let (settings, _) = settings(&state, &auth, target).await?;
    wait_consistent(
        &state,
        &[
            tgcrm_projections::queue::NAME,
            tgcrm_projections::teams::NAME,
            tgcrm_projections::agents::NAME,
        ],
        q.consistent_with.as_deref(),
    )
    .await?;
    let db = state.store.db();
    let ws = auth.workspace.as_str();
    let rows = tgcrm_projections::queue::stats(db, ws, &target.read_ref()).await?;
    let mut by_priority = PriorityCounts::default();
    let mut depth = 0;
    let mut oldest: Option<chrono::DateTime<chrono::Utc>> = None;
    for r in rows {
        depth += r.count;
        oldest = match (oldest, r.oldest_waiting_since) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match r.priority.as_str() {
            "urgent" => by_priority.urgent += r.count,
            "high" => by_priority.high += r.count,
            "normal" => by_priority.normal += r.count,
            _ => by_priority.low += r.count,
        }
    }
    let ws_default = workspace_capacity(&state, &auth).await?;
    let team = match target {
        Target::All => None,
        Target::Team(t) => Some(t.to_string()),
    };
    let agents = tgcrm_projections::teams::members(db, ws, team.as_deref())
        .await?
        .into_iter()
        .filter(|m| m.active)
        .map(|m| member_view(m, settings.default_capacity, ws_default))
        .collect();
    let now = state.clock.now();
    Ok(HttpResponse::Ok().json(QueueStatsView {
        queue: target.name(),
        paused: settings.paused,
        strategy: settings.strategy.as_str().to_owned(),
        default_capacity: settings.default_capacity,
        depth,
        oldest_waiting_since: oldest,
        oldest_wait_seconds: oldest.map(|o| (now - o).num_seconds().max(0)),
        by_priority,
        agents,
    }))
}

/// Pause distribution from the queue (tickets still come in). `all` pauses the whole workspace.
#[utoipa::path(post, path = "/v1/queues/{team}/pause", tag = "queues",
    params(("team" = String, Path, description = "a team id, or `all`")),
    responses((status = 200, body = QueueSettingsView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn pause_queue(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let target = Target::parse(&path)?;
    command(&state, &auth, target, QueueCommand::Pause).await
}

/// Resume distribution; waiting tickets are handed out at once, in queue order.
#[utoipa::path(post, path = "/v1/queues/{team}/resume", tag = "queues",
    params(("team" = String, Path, description = "a team id, or `all`")),
    responses((status = 200, body = QueueSettingsView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem)),
    security(("bearer" = [])))]
pub async fn resume_queue(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let target = Target::parse(&path)?;
    command(&state, &auth, target, QueueCommand::Resume).await
}

/// Set the default capacity per agent (`null` clears it). Agents with a
/// capacity of their own keep it.
#[utoipa::path(put, path = "/v1/queues/{team}/capacity", tag = "queues", request_body = CapacityBody,
    params(("team" = String, Path, description = "a team id, or `all`")),
    responses((status = 200, body = QueueSettingsView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn set_capacity(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: web::Json<CapacityBody>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let target = Target::parse(&path)?;
    let mut p = Problems::default();
    let to = match body.default_capacity {
        None => {
            p.push(
                "default_capacity",
                "required: a number of tickets (1–1000), or null to clear it",
            );
            None
        }
        Some(None) => Some(None),
        Some(Some(c)) => parse_capacity(c, "default_capacity", &mut p).map(Some),
    };
    p.finish()?;
    let Some(to) = to else {
        return Err(ApiError::field("default_capacity", "required"));
    };
    command(&state, &auth, target, QueueCommand::SetCapacity(to)).await
}

/// Set the distribution strategy: `round_robin`, `least_loaded` or `skills`.
#[utoipa::path(put, path = "/v1/queues/{team}/strategy", tag = "queues", request_body = StrategyBody,
    params(("team" = String, Path, description = "a team id, or `all`")),
    responses((status = 200, body = QueueSettingsView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn set_strategy(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: web::Json<StrategyBody>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let target = Target::parse(&path)?;
    let mut p = Problems::default();
    let strategy = parse_strategy(&body.strategy, &mut p);
    p.finish()?;
    let Some(strategy) = strategy else {
        return Err(ApiError::field("strategy", "required"));
    };
    command(&state, &auth, target, QueueCommand::SetStrategy(strategy)).await
}

/// Move a waiting ticket to a position, pin it to the top, or return it to
/// the default order. The manual order is kept as tickets come and go.
#[utoipa::path(post, path = "/v1/queues/{team}/reorder", tag = "queues", request_body = ReorderBody,
    params(("team" = String, Path, description = "a team id, or `all`")),
    responses((status = 200, body = QueueSettingsView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn reorder_queue(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    body: web::Json<ReorderBody>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin])?;
    let target = Target::parse(&path)?;
    let mut p = Problems::default();
    let ticket: Option<TicketId> = match body.ticket_id.parse() {
        Ok(t) => Some(t),
        Err(_) => {
            p.push("ticket_id", "must be a ticket id (UUID)");
            None
        }
    };
    let placement = match (body.position, body.pin) {
        (Some(n), None) => match u32::try_from(n) {
            Ok(n) if n >= 1 => Some(Placement::Position(n)),
            _ => {
                p.push("position", "must be 1 or more");
                None
            }
        },
        (None, Some(true)) => Some(Placement::Position(1)),
        (None, Some(false)) => Some(Placement::Release),
        (None, None) => {
            p.push("position", "give a position, or pin");
            None
        }
        (Some(_), Some(_)) => {
            p.push("pin", "give a position or pin, not both");
            None
        }
    };
    p.finish()?;
    let (Some(ticket_id), Some(placement)) = (ticket, placement) else {
        return Err(ApiError::field("ticket_id", "required"));
    };
    // 404 for a team of another workspace before anything else.
    settings(&state, &auth, target).await?;
    let current = tgcrm_projections::queue::queued_ids(
        state.store.db(),
        auth.workspace.as_str(),
        &target.read_ref(),
    )
    .await?
    .into_iter()
    .filter_map(|t| t.parse().ok())
    .collect();
    command(
        &state,
        &auth,
        target,
        QueueCommand::Reorder(Reorder {
            ticket_id,
            placement,
            current,
        }),
    )
    .await
}

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/v1/queues/{team}").get(get_queue))
        .service(web::resource("/v1/queues/{team}/stats").get(queue_stats))
        .service(web::resource("/v1/queues/{team}/pause").post(pause_queue))
        .service(web::resource("/v1/queues/{team}/resume").post(resume_queue))
        .service(web::resource("/v1/queues/{team}/capacity").put(set_capacity))
        .service(web::resource("/v1/queues/{team}/strategy").put(set_strategy))
        .service(web::resource("/v1/queues/{team}/reorder").post(reorder_queue));
}
