//! `GET /v1/events/stream`: the workspace's events as Server-Sent Events, live.
//! Resumable: each event's `id` is its position token, and a reconnecting
//! client's `Last-Event-ID` (or `after`) continues right after it. A client
//! that falls behind simply reads on from the log; nothing is dropped.

use std::time::Duration;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use tgcrm_store::reader::{EventFilter, read_after};
use tgcrm_store::tokens::Role;
use tgcrm_store::{EventStore, Position};
use utoipa::IntoParams;

use super::position_token;
use crate::auth::Auth;
use crate::dto::EventView;
use crate::error::{Problem, Result};
use crate::state::AppState;

const KEEPALIVE: Duration = Duration::from_secs(15);

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Start after this position token (`Last-Event-ID` wins when both are sent).
    pub after: Option<String>,
    /// Only these event types (comma-separated).
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// Only this aggregate type.
    pub aggregate_type: Option<String>,
    /// Only this aggregate (one ticket's history, say).
    pub aggregate_id: Option<String>,
}

struct Cursor {
    store: EventStore,
    filter: EventFilter,
    position: Position,
    wake: tokio::sync::watch::Receiver<tgcrm_store::notify::Appended>,
    pending: std::collections::VecDeque<Bytes>,
    idle_since: tokio::time::Instant,
    shutdown: tgcrm_store::shutdown::Stop,
}

fn frame(e: tgcrm_store::StoredEvent) -> Bytes {
    let id = e.position.token();
    let kind = e.event_type.clone();
    let data = serde_json::to_string(&EventView::from(e)).unwrap_or_else(|_| "{}".to_owned());
    Bytes::from(format!("id: {id}\nevent: {kind}\ndata: {data}\n\n"))
}

async fn next_chunk(mut c: Cursor) -> Option<(Result<Bytes, actix_web::Error>, Cursor)> {
    loop {
        if c.shutdown.is_stopped() {
            return None;
        }
        if let Some(b) = c.pending.pop_front() {
            return Some((Ok(b), c));
        }
        // Before the read: a write that commits after it wakes the wait below.
        c.wake.borrow_and_update();
        match read_after(c.store.db(), c.position, 100, &c.filter).await {
            Ok(events) if !events.is_empty() => {
                c.idle_since = tokio::time::Instant::now();
                for e in events {
                    c.position = e.position;
                    c.pending.push_back(frame(e));
                }
            }
            Ok(_) => {
                tokio::select! {
                    _ = c.shutdown.stopped() => return None,
                    _ = c.wake.changed() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
                // A comment line now and then keeps proxies from closing an idle stream.
                if c.idle_since.elapsed() >= KEEPALIVE {
                    c.idle_since = tokio::time::Instant::now();
                    return Some((Ok(Bytes::from_static(b": keepalive\n\n")), c));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "event stream read failed; ending the stream");
                return None;
            }
        }
    }
}

/// Live feed of the workspace's events (Server-Sent Events).
#[utoipa::path(get, path = "/v1/events/stream", tag = "events",
    params(StreamQuery, ("Last-Event-ID" = Option<String>, Header, description = "resume after this event")),
    responses((status = 200, description = "text/event-stream of events", content_type = "text/event-stream", body = String),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn stream(
    state: web::Data<AppState>,
    auth: Auth,
    req: HttpRequest,
    q: web::Query<StreamQuery>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin, Role::Analyst, Role::Auditor])?;
    let last_event_id = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let position = match last_event_id.as_deref().or(q.after.as_deref()) {
        Some(p) => position_token(p, "after")?,
        None => Position::START,
    };
    let event_types = super::event_types(q.event_type.as_deref())?;
    let cursor = Cursor {
        wake: state.store.subscribe(),
        store: state.store.clone(),
        filter: EventFilter {
            workspace_id: Some(auth.workspace.to_string()),
            event_types,
            aggregate_type: q.aggregate_type.clone(),
            aggregate_id: q.aggregate_id.clone(),
            ..EventFilter::default()
        },
        position,
        pending: Default::default(),
        idle_since: tokio::time::Instant::now(),
        shutdown: state.shutdown.clone(),
    };
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        .streaming(futures::stream::unfold(cursor, next_chunk)))
}
