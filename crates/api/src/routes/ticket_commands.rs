//! Changing a ticket: status, priority, assignment, tags, custom fields, archive.
//! Every write accepts `If-Match` and answers with the ticket, its `ETag` and
//! the `X-Event-Position` of the change.

use std::collections::BTreeSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use tgcrm_domain::ticket::{
    Assign, ChangePriority, ChangeStatus, ChangeTags, SetFields, TicketCommand,
};
use tgcrm_domain::values::{FieldKey, Fields, Note, Priority, Status, ValueError};
use tgcrm_domain::{AgentId, TeamId};
use tgcrm_store::tokens::Role;

use super::{if_match, run_command, ticket_answer, ticket_id};
use crate::auth::Auth;
use crate::dto::{
    AssignBody, ChangePriorityBody, ChangeStatusBody, FieldsBody, Problems, TagsBody, TicketView,
    UnassignBody, parse_tags,
};
use crate::error::{Problem, Result};
use crate::state::AppState;

const WRITERS: &[Role] = &[Role::Admin, Role::Agent];

fn note(raw: Option<&str>, field: &str, p: &mut Problems) -> Option<Note> {
    raw.and_then(|r| p.take(Note::parse(r).map_err(|e| ValueError::new(field, e.reason))))
}

async fn command(
    state: &AppState,
    auth: &Auth,
    req: &HttpRequest,
    raw_id: &str,
    command: TicketCommand,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let id = ticket_id(raw_id)?;
    let expected = if_match(req)?;
    let outcome = run_command(state, auth, &id, expected, command).await?;
    Ok(ticket_answer(StatusCode::OK, &outcome))
}

/// Move a ticket to another status. Closing needs a resolved ticket; a closed ticket is final.
#[utoipa::path(post, path = "/v1/tickets/{id}/status", tag = "tickets", request_body = ChangeStatusBody,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = TicketView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 412, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn change_status(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<ChangeStatusBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let mut p = Problems::default();
    let to = p.take(body.status.parse::<Status>());
    let reason = note(body.reason.as_deref(), "reason", &mut p);
    p.finish()?;
    let Some(to) = to else {
        return Err(crate::ApiError::field("status", "required"));
    };
    command(
        &state,
        &auth,
        &req,
        &path,
        TicketCommand::ChangeStatus(ChangeStatus { to, reason }),
    )
    .await
}

/// Change a ticket's priority.
#[utoipa::path(post, path = "/v1/tickets/{id}/priority", tag = "tickets", request_body = ChangePriorityBody,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = TicketView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn change_priority(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<ChangePriorityBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let to = body
        .priority
        .parse::<Priority>()
        .map_err(|e| crate::ApiError::field("priority", e.reason))?;
    command(
        &state,
        &auth,
        &req,
        &path,
        TicketCommand::ChangePriority(ChangePriority { to }),
    )
    .await
}

/// Assign to an agent, a team, or both, with an optional transfer note.
#[utoipa::path(post, path = "/v1/tickets/{id}/assignment", tag = "tickets", request_body = AssignBody,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = TicketView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn assign(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<AssignBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let mut p = Problems::default();
    let agent = body
        .agent_id
        .as_deref()
        .and_then(|a| match a.parse::<AgentId>() {
            Ok(a) => Some(a),
            Err(_) => {
                p.push("agent_id", "must be a UUID");
                None
            }
        });
    let team = body
        .team_id
        .as_deref()
        .and_then(|t| match t.parse::<TeamId>() {
            Ok(t) => Some(t),
            Err(_) => {
                p.push("team_id", "must be a UUID");
                None
            }
        });
    if body.agent_id.is_none() && body.team_id.is_none() {
        p.push(
            "agent_id",
            "name an agent_id, a team_id, or both (DELETE unassigns)",
        );
    }
    let note = note(body.note.as_deref(), "note", &mut p);
    p.finish()?;
    // The ticket first (404 across workspaces), then who it goes to. A
    // ticket this process keeps exists, in the workspace it was opened in
    // (neither ever changes): only another one is loaded.
    let id = super::ticket_id(&path)?;
    let kept = state
        .store
        .aggregates()
        .get::<tgcrm_domain::ticket::Ticket>(&id.to_string())
        .and_then(|t| t.state.workspace_id);
    let workspace = match kept {
        Some(w) => Some(w),
        None => {
            tgcrm_store::load::load_ticket(state.store.db(), &id)
                .await?
                .state
                .workspace_id
        }
    };
    if workspace.as_ref() != Some(&auth.workspace) {
        return Err(crate::ApiError::NotFound("ticket not found".into()));
    }
    check_assignees(&state, &auth, agent.as_ref(), team.as_ref()).await?;
    command(
        &state,
        &auth,
        &req,
        &path,
        TicketCommand::Assign(Assign { agent, team, note }),
    )
    .await
}

/// The agent and the team a ticket is assigned to exist in the workspace,
/// and the agent is active: a ticket handed to nobody would count toward no
/// one's load and wait in no queue.
async fn check_assignees(
    state: &AppState,
    auth: &Auth,
    agent: Option<&AgentId>,
    team: Option<&TeamId>,
) -> Result<()> {
    let mut p = Problems::default();
    if let Some(a) = agent {
        let loaded =
            tgcrm_store::load::load::<tgcrm_domain::agent::Agent>(state.store.db(), &a.to_string())
                .await?;
        if loaded.state.workspace_id.as_ref() != Some(&auth.workspace) {
            p.push("agent_id", "no such agent in this workspace");
        } else if !loaded.state.active {
            p.push("agent_id", "the agent is deactivated");
        }
    }
    if let Some(t) = team
        && super::teams::load_team(state, auth, t).await?.is_none()
    {
        p.push("team_id", "no such team in this workspace");
    }
    p.finish()
}

/// Release the ticket's agent; it stays with its team.
#[utoipa::path(delete, path = "/v1/tickets/{id}/assignment", tag = "tickets", request_body(content = Option<UnassignBody>),
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = TicketView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
pub async fn unassign(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: Option<web::Json<UnassignBody>>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let body = body.map(|b| b.into_inner()).unwrap_or_default();
    let mut p = Problems::default();
    let note = note(body.note.as_deref(), "note", &mut p);
    p.finish()?;
    command(&state, &auth, &req, &path, TicketCommand::Unassign { note }).await
}

/// Add and remove tags.
#[utoipa::path(post, path = "/v1/tickets/{id}/tags", tag = "tickets", request_body = TagsBody,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = TicketView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn change_tags(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<TagsBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let mut p = Problems::default();
    let add = parse_tags(&body.add, "add", &mut p);
    let remove = parse_tags(&body.remove, "remove", &mut p);
    p.finish()?;
    command(
        &state,
        &auth,
        &req,
        &path,
        TicketCommand::ChangeTags(ChangeTags { add, remove }),
    )
    .await
}

/// Set and remove custom fields.
#[utoipa::path(post, path = "/v1/tickets/{id}/fields", tag = "tickets", request_body = FieldsBody,
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = TicketView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn change_fields(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<FieldsBody>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    let mut p = Problems::default();
    let set = p.take(Fields::parse(&body.set)).unwrap_or_default();
    let remove: BTreeSet<FieldKey> = body
        .remove
        .iter()
        .filter_map(|k| p.take(FieldKey::parse(k)))
        .collect();
    p.finish()?;
    command(
        &state,
        &auth,
        &req,
        &path,
        TicketCommand::SetFields(SetFields { set, remove }),
    )
    .await
}

/// Archive a closed ticket (hidden from lists unless `archived=true`).
#[utoipa::path(post, path = "/v1/tickets/{id}/archive", tag = "tickets",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, body = TicketView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 412, body = Problem)),
    security(("bearer" = [])))]
pub async fn archive(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse> {
    auth.require(WRITERS)?;
    command(&state, &auth, &req, &path, TicketCommand::Archive).await
}
