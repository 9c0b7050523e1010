//! `GET /v1/events/export`: the workspace's whole log (or a slice of it) as a
//! streamed NDJSON or CSV download, every event with its metadata.

use actix_web::web::Bytes;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tgcrm_store::export::{CSV_HEADER, csv_line};
use tgcrm_store::reader::{EventFilter, read_after};
use tgcrm_store::tokens::Role;
use tgcrm_store::{Db, Position};
use utoipa::IntoParams;

use super::position_token;
use crate::auth::Auth;
use crate::error::{ApiError, Problem, Result};
use crate::state::AppState;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// ndjson (default) or csv.
    pub format: Option<String>,
    /// Start after this position token.
    pub after: Option<String>,
    /// Only events that occurred up to this instant (RFC 3339).
    pub until: Option<DateTime<Utc>>,
    /// Only these event types (comma-separated).
    #[serde(rename = "type")]
    pub event_type: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Ndjson,
    Csv,
}

struct Cursor {
    db: Db,
    filter: EventFilter,
    position: Position,
    until: Option<DateTime<Utc>>,
    format: Format,
    header_sent: bool,
    done: bool,
}

async fn next_chunk(mut c: Cursor) -> Option<(Result<Bytes, actix_web::Error>, Cursor)> {
    if c.done {
        return None;
    }
    if !c.header_sent {
        c.header_sent = true;
        if c.format == Format::Csv {
            return Some((Ok(Bytes::from_static(CSV_HEADER.as_bytes())), c));
        }
    }
    let batch = match read_after(&c.db, c.position, 1_000, &c.filter).await {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "export read failed; ending the download early");
            return None;
        }
    };
    let last = batch.last()?;
    c.position = last.position;
    let mut out = String::new();
    for e in &batch {
        if c.until.is_some_and(|u| e.occurred_at > u) {
            c.done = true;
            break;
        }
        match c.format {
            Format::Ndjson => {
                out.push_str(&serde_json::to_string(e).unwrap_or_default());
                out.push('\n');
            }
            Format::Csv => out.push_str(&csv_line(e)),
        }
    }
    Some((Ok(Bytes::from(out)), c))
}

/// Download the workspace's events with their metadata, in log order.
#[utoipa::path(get, path = "/v1/events/export", tag = "events", params(ExportQuery),
    responses((status = 200, description = "NDJSON (application/x-ndjson) or CSV (text/csv)", body = String),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)),
    security(("bearer" = [])))]
pub async fn export(
    state: web::Data<AppState>,
    auth: Auth,
    q: web::Query<ExportQuery>,
) -> Result<HttpResponse> {
    auth.require(&[Role::Admin, Role::Analyst, Role::Auditor])?;
    let format = match q.format.as_deref() {
        None | Some("ndjson") => Format::Ndjson,
        Some("csv") => Format::Csv,
        Some(_) => return Err(ApiError::field("format", "expected ndjson or csv")),
    };
    let position = match q.after.as_deref() {
        Some(a) => position_token(a, "after")?,
        None => Position::START,
    };
    let event_types = super::event_types(q.event_type.as_deref())?;
    let cursor = Cursor {
        db: state.store.db().clone(),
        filter: EventFilter {
            workspace_id: Some(auth.workspace.to_string()),
            event_types,
            aggregate_type: None,
            aggregate_id: None,
            ..EventFilter::default()
        },
        position,
        until: q.until,
        format,
        header_sent: false,
        done: false,
    };
    let content_type = match format {
        Format::Ndjson => "application/x-ndjson",
        Format::Csv => "text/csv; charset=utf-8",
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .streaming(futures::stream::unfold(cursor, next_chunk)))
}
