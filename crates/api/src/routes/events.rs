//! Reading the log: one ticket's stream, and the workspace's global feed.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use tgcrm_projections::cursor::{decode_i64, encode_i64};
use tgcrm_store::Position;
use tgcrm_store::reader::{EventFilter, read_after, read_stream};
use tgcrm_store::tokens::Role;
use utoipa::IntoParams;

use super::{page_limit, position_token, ticket_id};
use crate::auth::Auth;
use crate::dto::{EventPageView, EventView};
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

const HISTORY_READERS: &[Role] = &[Role::Admin, Role::Agent, Role::Analyst, Role::Auditor];
const FEED_READERS: &[Role] = &[Role::Admin, Role::Analyst, Role::Auditor];

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct TicketEventsQuery {
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A ticket's own event stream, in order, with metadata.
#[utoipa::path(get, path = "/v1/tickets/{id}/events", tag = "events",
    params(("id" = String, Path), TicketEventsQuery),
    responses((status = 200, body = EventPageView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn ticket_events(
    state: web::Data<AppState>,
    auth: Auth,
    path: web::Path<String>,
    q: web::Query<TicketEventsQuery>,
) -> Result<HttpResponse> {
    auth.require(HISTORY_READERS)?;
    let id = ticket_id(&path)?;
    let limit = page_limit(q.limit)?;
    let after = match q.cursor.as_deref() {
        None => 0,
        Some(c) => decode_i64(c).map_err(|e| ApiError::field("cursor", e.to_string()))?,
    };
    let events = read_stream(
        state.store.db(),
        tgcrm_domain::ticket::AGGREGATE_TYPE,
        &id.to_string(),
        after,
        limit + 1,
    )
    .await?;
    if events
        .first()
        .is_some_and(|e| e.workspace_id != auth.workspace.as_str())
    {
        return Err(ApiError::NotFound("ticket not found".into()));
    }
    if events.is_empty() && after == 0 {
        return Err(ApiError::NotFound("ticket not found".into()));
    }
    let mut events = events;
    let next = if events.len() as i64 > limit {
        events.truncate(usize::try_from(limit).unwrap_or(0));
        events.last().map(|e| encode_i64(e.sequence))
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(EventPageView {
        items: events.into_iter().map(EventView::from).collect(),
        next_cursor: next,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// A position token (`X-Event-Position` or a previous `next_cursor`); start of the log if absent.
    pub after: Option<String>,
    /// 1–100, default 50.
    pub limit: Option<i64>,
    /// Only these event types (comma-separated), e.g. `TicketOpened,StatusChanged`.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Only this aggregate type, e.g. `ticket`.
    pub aggregate_type: Option<String>,
    /// Only this aggregate (one ticket's history, say).
    pub aggregate_id: Option<String>,
}

/// The workspace's events in global order. `next_cursor` is always given: poll with it for new events.
#[utoipa::path(get, path = "/v1/events", tag = "events", params(FeedQuery),
    responses((status = 200, body = EventPageView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn global_feed(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<FeedQuery>,
) -> Result<HttpResponse> {
    auth.require(FEED_READERS)?;
    let limit = page_limit(q.limit)?;
    let after = match q.after.as_deref() {
        None => Position::START,
        Some(a) => position_token(a, "after")?,
    };
    let event_types = super::event_types(q.event_type.as_deref())?;
    let filter = EventFilter {
        workspace_id: Some(auth.workspace.to_string()),
        event_types,
        aggregate_type: q.aggregate_type.clone(),
        aggregate_id: q.aggregate_id.clone(),
        ..EventFilter::default()
    };
    let events = read_after(state.store.db(), after, limit, &filter).await?;
    let next = events.last().map(|e| e.position).unwrap_or(after);
    Ok(HttpResponse::Ok().json(EventPageView {
        items: events.into_iter().map(EventView::from).collect(),
        next_cursor: Some(next.token()),
    }))
}
